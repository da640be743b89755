// The one test for "a JSON object" (not null, not an array) that readers of parsed JSON share: nft's
// listings, netlink element batches built from nft JSON, the DHCP lease journal.
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
