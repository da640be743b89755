// Responses encoded once and answered many times. A template is a whole response with ID 0, the
// question in lower case and no OPT record; answering a query copies it and patches the ID, the RD
// and CD bits, the question's case (RFC 1035 keeps the client's spelling; 0x20-randomizing resolvers
// check it) and appends an OPT when the client sent one. The same routine answers from the cache of
// upstream responses, whose templates have the same shape.
import ipaddr from 'ipaddr.js';
import {
  AA,
  AD,
  CD,
  HEADER_SIZE,
  MessageWriter,
  OPT_SIZE,
  QR,
  RA,
  RCODE,
  RD,
  TC,
  TYPE,
  type Query,
  writeOpt,
  writeOptWithError,
} from './wire.js';
import type { LocalAnswer, LocalRecord } from './zones.js';

/** Extended DNS Error "No Reachable Authority" (RFC 8914): why a SERVFAIL. */
const EDE_NO_REACHABLE_AUTHORITY = 22;
const EDE_SIZE = 6;

/** Encodes a local answer for the question `question` (lower-case QNAME, QTYPE, QCLASS as on the wire). */
export function encodeLocal(question: Buffer, answer: LocalAnswer, ttl: number): Buffer {
  const w = new MessageWriter().header(0, flagsOf(answer.authoritative, answer.rcode), [
    1,
    answer.answers.length,
    answer.authority.length,
    0,
  ]);
  w.wireName(question.subarray(0, question.length - 4)).bytes(question.subarray(question.length - 4));
  for (const r of [...answer.answers, ...answer.authority]) writeRecord(w, r, ttl);
  return w.finish();
}

function flagsOf(authoritative: boolean, rcode: number): number {
  return ((QR | (authoritative ? AA : 0)) << 8) | RA | rcode;
}

function writeRecord(w: MessageWriter, r: LocalRecord, ttl: number): void {
  switch (r.type) {
    case TYPE.A:
    case TYPE.AAAA:
      w.record(r.name, r.type, ttl, (x) => x.bytes(Uint8Array.from(ipaddr.parse(r.address).toByteArray())));
      return;
    case TYPE.PTR:
    case TYPE.NS:
      w.record(r.name, r.type, ttl, (x) => x.name(r.target));
      return;
    case TYPE.SOA:
      // RFC 6303's shape: MNAME the nameserver, RNAME nobody.invalid, the minimum (negative TTL) = ttl.
      w.record(r.name, r.type, ttl, (x) =>
        x.name(r.zone.nameserver).name('nobody.invalid').u32(1).u32(3600).u32(1200).u32(604800).u32(ttl),
      );
      return;
  }
}

/**
 * Answers the query `q` (its message in `msg` at `msgOffset`, for the question's spelling) from
 * `template` into `out` at `outOffset`, within `limit` octets. A response that does not fit is
 * replaced by an empty one with TC set, so the client asks again over TCP. Returns the length.
 */
export function answerFromTemplate(
  template: Buffer,
  q: Query,
  msg: Buffer,
  msgOffset: number,
  out: Buffer,
  outOffset: number,
  limit: number,
): number {
  const size = template.length + (q.edns ? OPT_SIZE : 0);
  if (size > limit) return truncated(q, msg, msgOffset, out, outOffset, (template[2] ?? 0) & AA);
  template.copy(out, outOffset);
  out.writeUInt16BE(q.id, outOffset);
  out[outOffset + 2] = ((template[2] ?? 0) & ~RD) | (q.flags2 & RD);
  // AD only for a client that asked for DNSSEC (RFC 6840 §5.8); CD as the client sent it.
  out[outOffset + 3] = ((template[3] ?? 0) & ~(CD | (q.dnssecOk ? 0 : AD))) | (q.flags3 & CD) | RA;
  msg.copy(out, outOffset + HEADER_SIZE, msgOffset + HEADER_SIZE, msgOffset + q.questionEnd);
  if (q.edns) {
    writeOpt(out, outOffset + template.length, q.dnssecOk);
    out.writeUInt16BE(out.readUInt16BE(outOffset + 10) + 1, outOffset + 10);
  }
  return size;
}

/** A response with only the header, the question and (for EDNS clients) an OPT record. */
export function answerEmpty(
  q: Query,
  msg: Buffer,
  msgOffset: number,
  out: Buffer,
  outOffset: number,
  rcode: number,
  flags2 = 0,
): number {
  const questionEnd = q.opcode === 0 ? q.questionEnd : HEADER_SIZE;
  msg.copy(out, outOffset, msgOffset, msgOffset + questionEnd);
  out[outOffset + 2] = QR | (q.flags2 & (0x78 | RD)) | flags2;
  out[outOffset + 3] = RA | (q.flags3 & CD) | (rcode & 0x0f);
  out.writeUInt16BE(questionEnd > HEADER_SIZE ? 1 : 0, outOffset + 4);
  out.writeUInt32BE(0, outOffset + 6);
  out.writeUInt16BE(0, outOffset + 10);
  let end = outOffset + questionEnd;
  if (q.edns && q.opcode === 0) {
    // BADVERS (16) is an extended RCODE: its upper bits travel in the OPT record.
    end =
      rcode === RCODE.SERVFAIL
        ? writeOptWithError(out, end, q.dnssecOk, EDE_NO_REACHABLE_AUTHORITY)
        : writeOpt(out, end, q.dnssecOk, rcode >> 4);
    out.writeUInt16BE(1, outOffset + 10);
  }
  return end - outOffset;
}

function truncated(
  q: Query,
  msg: Buffer,
  msgOffset: number,
  out: Buffer,
  outOffset: number,
  aa: number,
): number {
  return answerEmpty(q, msg, msgOffset, out, outOffset, RCODE.NOERROR, TC | aa);
}

/** Largest answerEmpty() result: header, the longest question, an OPT with one Extended DNS Error. */
export const MAX_EMPTY_ANSWER = HEADER_SIZE + 255 + 4 + OPT_SIZE + EDE_SIZE;
