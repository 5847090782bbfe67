// The server side of NTLM (MS-NLMP) as far as the simulator needs it: read a NEGOTIATE (type 1), write a CHALLENGE
// (type 2) with a target info list, read an AUTHENTICATE (type 3) within its bounds, and check an NTLMv2 response.
// Pure apart from the caller-supplied challenge and clock. NTLMv1 and LM-only answers are refused on purpose.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { md4 } from './md4.js';

/** NegotiateFlags bits used here (MS-NLMP 2.2.2.5). */
export const NTLM_FLAG = {
  UNICODE: 0x00000001,
  OEM: 0x00000002,
  REQUEST_TARGET: 0x00000004,
  NTLM: 0x00000200,
  ALWAYS_SIGN: 0x00008000,
  TARGET_TYPE_DOMAIN: 0x00010000,
  EXTENDED_SESSIONSECURITY: 0x00080000,
  TARGET_INFO: 0x00800000,
  VERSION: 0x02000000,
  N128: 0x20000000,
  N56: 0x80000000,
} as const;

/** AV_PAIR ids (MS-NLMP 2.2.2.1). */
export const AV = { EOL: 0, NB_COMPUTER: 1, NB_DOMAIN: 2, DNS_COMPUTER: 3, DNS_DOMAIN: 4, TIMESTAMP: 7 } as const;

const SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');
/** Far above any real message; the HTTP header limit is lower still, this only guards direct callers. */
const MAX_MESSAGE = 16 * 1024;
/** NTProofStr (16) + the fixed part of an NTLMv2 client challenge (28). */
const MIN_NTLMV2_RESPONSE = 44;
/** Windows Server 2019 (10.0.17763), NTLM revision 15, as a real Exchange 2019 host reports. */
const VERSION = Buffer.from([10, 0, 0x4b, 0x45, 0, 0, 0, 0x0f]);
/** 100 ns intervals between 1601-01-01 and 1970-01-01. */
const FILETIME_EPOCH = 116_444_736_000_000_000n;

export interface NtlmServerIdentity {
  /** NetBIOS domain, e.g. CONTOSO; also the challenge's target name. */
  domain: string;
  /** NetBIOS computer name, e.g. EXSIM01. */
  computer: string;
  dnsDomain: string;
  dnsComputer: string;
}

export interface NtlmNegotiate {
  flags: number;
}

export interface NtlmAuthenticate {
  flags: number;
  lmResponse: Buffer;
  ntResponse: Buffer;
  domain: string;
  user: string;
  workstation: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

/** Base64 text of an Authorization token to bytes; undefined when it is not strict base64 or is too long. */
export function decodeToken(token: string): Buffer | undefined {
  if (token.length > (MAX_MESSAGE * 4) / 3 + 4 || token.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(token)) return undefined;
  return Buffer.from(token, 'base64');
}

/** The message type (1, 2 or 3) after a valid signature, else undefined. */
export function messageType(msg: Buffer): number | undefined {
  if (msg.length < 12 || msg.length > MAX_MESSAGE || !msg.subarray(0, 8).equals(SIGNATURE)) return undefined;
  return msg.readUInt32LE(8);
}

export function parseNegotiate(msg: Buffer): Parsed<NtlmNegotiate> {
  if (messageType(msg) !== 1) return fail('not an NTLM negotiate message');
  if (msg.length < 16) return fail('negotiate message truncated');
  return { ok: true, value: { flags: msg.readUInt32LE(12) } };
}

/** The bytes a security buffer (length, max length, offset) at `at` points to, or undefined when out of bounds. */
function field(msg: Buffer, at: number): { bytes: Buffer; offset: number } | undefined {
  const length = msg.readUInt16LE(at);
  const offset = msg.readUInt32LE(at + 4);
  if (length === 0) return { bytes: Buffer.alloc(0), offset };
  return offset + length <= msg.length ? { bytes: msg.subarray(offset, offset + length), offset } : undefined;
}

export function parseAuthenticate(msg: Buffer): Parsed<NtlmAuthenticate> {
  if (messageType(msg) !== 3) return fail('not an NTLM authenticate message');
  if (msg.length < 52) return fail('authenticate message truncated');
  const fields = [12, 20, 28, 36, 44].map((at) => field(msg, at));
  const [lm, nt, domain, user, workstation] = fields.map((f) => f?.bytes);
  if (!lm || !nt || !domain || !user || !workstation) return fail('authenticate message field out of bounds');
  // Older clients end the header after the workstation field (the payload starts at 52): no NegotiateFlags then.
  const payloadStart = Math.min(msg.length, ...fields.filter((f) => f!.bytes.length > 0).map((f) => f!.offset));
  const flags = payloadStart >= 64 ? msg.readUInt32LE(60) : NTLM_FLAG.UNICODE;
  const unicode = (flags & NTLM_FLAG.UNICODE) !== 0;
  if (unicode && [domain, user, workstation].some((b) => b.length % 2 !== 0)) return fail('odd-length UTF-16 name');
  const text = (b: Buffer): string => b.toString(unicode ? 'utf16le' : 'latin1');
  return { ok: true, value: { flags, lmResponse: lm, ntResponse: nt, domain: text(domain), user: text(user), workstation: text(workstation) } };
}

function avPair(id: number, value: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16LE(id, 0);
  head.writeUInt16LE(value.length, 2);
  return Buffer.concat([head, value]);
}

/** MsvAvNbDomainName … MsvAvTimestamp, MsvAvEOL, in the order Windows sends them. */
export function targetInfo(identity: NtlmServerIdentity, nowMs: number): Buffer {
  const stamp = Buffer.alloc(8);
  stamp.writeBigUInt64LE(BigInt(Math.floor(nowMs)) * 10_000n + FILETIME_EPOCH);
  const text = (s: string): Buffer => Buffer.from(s, 'utf16le');
  return Buffer.concat([
    avPair(AV.NB_DOMAIN, text(identity.domain)),
    avPair(AV.NB_COMPUTER, text(identity.computer)),
    avPair(AV.DNS_DOMAIN, text(identity.dnsDomain)),
    avPair(AV.DNS_COMPUTER, text(identity.dnsComputer)),
    avPair(AV.TIMESTAMP, stamp),
    avPair(AV.EOL, Buffer.alloc(0)),
  ]);
}

/** A CHALLENGE message answering a negotiate with these flags; `serverChallenge` is 8 random bytes. */
export function buildChallenge(identity: NtlmServerIdentity, negotiateFlags: number, serverChallenge: Buffer, nowMs: number): Buffer {
  if (serverChallenge.length !== 8) throw new RangeError('NTLM server challenge must be 8 bytes');
  const flags =
    (NTLM_FLAG.UNICODE |
      NTLM_FLAG.REQUEST_TARGET |
      NTLM_FLAG.NTLM |
      NTLM_FLAG.ALWAYS_SIGN |
      NTLM_FLAG.TARGET_TYPE_DOMAIN |
      NTLM_FLAG.EXTENDED_SESSIONSECURITY |
      NTLM_FLAG.TARGET_INFO |
      NTLM_FLAG.VERSION |
      (negotiateFlags & (NTLM_FLAG.N128 | NTLM_FLAG.N56))) >>>
    0;
  const target = Buffer.from(identity.domain, 'utf16le');
  const info = targetInfo(identity, nowMs);
  const head = Buffer.alloc(56);
  SIGNATURE.copy(head, 0);
  head.writeUInt32LE(2, 8);
  head.writeUInt16LE(target.length, 12);
  head.writeUInt16LE(target.length, 14);
  head.writeUInt32LE(head.length, 16);
  head.writeUInt32LE(flags, 20);
  serverChallenge.copy(head, 24);
  head.writeUInt16LE(info.length, 40);
  head.writeUInt16LE(info.length, 42);
  head.writeUInt32LE(head.length + target.length, 44);
  VERSION.copy(head, 48);
  return Buffer.concat([head, target, info]);
}

/** NT hash: MD4 of the UTF-16LE password. */
export function ntHash(password: string): Buffer {
  return md4(Buffer.from(password, 'utf16le'));
}

const hmacMd5 = (key: Buffer, ...data: Buffer[]): Buffer => {
  const mac = createHmac('md5', key);
  for (const d of data) mac.update(d);
  return mac.digest();
};

/** Why an NT response cannot be an NTLMv2 one, or undefined when its shape is right. */
export function ntlmV2ShapeProblem(ntResponse: Buffer): string | undefined {
  if (ntResponse.length === 0) return 'no NT response (LM only or anonymous)';
  if (ntResponse.length === 24) return 'NTLMv1 response refused';
  if (ntResponse.length < MIN_NTLMV2_RESPONSE) return 'NT response too short for NTLMv2';
  // RespType and HiRespType of the NTLMv2 client challenge are both 1.
  if (ntResponse[16] !== 1 || ntResponse[17] !== 1) return 'NT response is not an NTLMv2 client challenge';
  return undefined;
}

/**
 * true when `ntResponse` proves knowledge of the password behind `hash` for this user, domain (both as sent)
 * and server challenge: NTProofStr = HMAC-MD5(NTOWFv2, serverChallenge + blob) must equal its first 16 bytes.
 */
export function verifyNtlmV2(hash: Buffer, user: string, domain: string, serverChallenge: Buffer, ntResponse: Buffer): boolean {
  if (ntlmV2ShapeProblem(ntResponse) !== undefined) return false;
  const ntowfV2 = hmacMd5(hash, Buffer.from(user.toUpperCase() + domain, 'utf16le'));
  const proof = hmacMd5(ntowfV2, serverChallenge, ntResponse.subarray(16));
  return timingSafeEqual(proof, ntResponse.subarray(0, 16));
}
