// What the nf_tables netlink codecs share (element-wire.ts writes batches, element-dump.ts reads
// dumps): message and attribute numbers from include/uapi/linux/netfilter/nf_tables.h and
// nfnetlink.h, and the byte order of netlink headers, which is the host's.
import { endianness } from 'node:os';
import type { NftFamily } from './model.js';

export const NFNL_SUBSYS_NFTABLES = 10;
export const NFT_MSG_NEWSETELEM = (NFNL_SUBSYS_NFTABLES << 8) | 12;
export const NLM_F_REQUEST = 0x1;
export const NLA_F_NESTED = 1 << 15;
export const NFTA_SET_ELEM_LIST_TABLE = 1;
export const NFTA_SET_ELEM_LIST_SET = 2;
export const NFTA_SET_ELEM_LIST_ELEMENTS = 3;
export const NFTA_LIST_ELEM = 1;
export const NFTA_SET_ELEM_KEY = 1;
export const NFTA_SET_ELEM_DATA = 2;
export const NFTA_SET_ELEM_FLAGS = 3;
export const NFTA_SET_ELEM_USERDATA = 6;
export const NFTA_SET_ELEM_KEY_END = 10;
export const NFT_SET_ELEM_INTERVAL_END = 1;
/** libnftnl's user data TLV (one byte type, one byte length) holding an element's comment. */
export const NFTNL_UDATA_SET_ELEM_COMMENT = 0;
export const NFTA_DATA_VALUE = 1;
export const NFTA_DATA_VERDICT = 2;
export const NFTA_VERDICT_CODE = 1;
export const NFTA_VERDICT_CHAIN = 2;
export const NFT_JUMP = -3;
export const NFT_GOTO = -4;
export const IFNAMSIZ = 16;
export const NFT_FAMILIES: Record<NftFamily, number> = { inet: 1, ip: 2, ip6: 10, bridge: 7, netdev: 5 };
const LITTLE_ENDIAN = endianness() === 'LE';

/** Netlink header fields, in host byte order. */
export function writeHostU16(b: Buffer, value: number, offset: number): void {
  if (LITTLE_ENDIAN) b.writeUInt16LE(value, offset);
  else b.writeUInt16BE(value, offset);
}

export function writeHostU32(b: Buffer, value: number, offset: number): void {
  if (LITTLE_ENDIAN) b.writeUInt32LE(value, offset);
  else b.writeUInt32BE(value, offset);
}

export function readHostU16(b: Buffer, offset: number): number {
  return LITTLE_ENDIAN ? b.readUInt16LE(offset) : b.readUInt16BE(offset);
}

export function readHostU32(b: Buffer, offset: number): number {
  return LITTLE_ENDIAN ? b.readUInt32LE(offset) : b.readUInt32BE(offset);
}

export function readHostI32(b: Buffer, offset: number): number {
  return LITTLE_ENDIAN ? b.readInt32LE(offset) : b.readInt32BE(offset);
}
