// Hardware addresses between the wire (bytes) and the config's spelling (lower case, colons).

export function formatMac(bytes: Uint8Array): string {
  let text = '';
  for (const [i, b] of bytes.entries()) text += (i === 0 ? '' : ':') + b.toString(16).padStart(2, '0');
  return text;
}

/** Bytes of a MAC written as formatMac writes it. */
export function macBytes(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(':').map((h) => parseInt(h, 16)));
}
