// --shard K/N: which mailboxes of a list this process keeps, so that N processes given the same list split it
// with no overlap and no gap. Pure: no I/O.
//
// The rule, which every version on every platform must compute alike (pods of one StatefulSet may run different
// versions during a rolling update): h = the first 8 bytes, big-endian, of SHA-256 (FIPS 180-4) over the UTF-8
// bytes of the lower-cased address (address.ts says why lower-cased); the shard is JumpConsistentHash(h, N) of
// Lamping and Veach, "A Fast, Minimal Memory, Consistent Hash Algorithm" (2014, arXiv:1406.2294). Why these:
// - SHA-256 is a standard, in node:crypto on every platform, and evenly spread; any language reproduces it.
// - Jump hash moves as little as possible when N changes, and only at the top: N → N+1 moves about 1/(N+1) of the
//   mailboxes, all to the new shard N, and N+1 → N moves back only shard N's. That is how a StatefulSet scales
//   (pods are added and removed at the highest ordinal), so scaling keeps every other pod's mailboxes, their
//   subscriptions and their sync state where they are. `hash mod N` would move about N/(N+1) of them.
// The tests pin known answers: changing any of this splits a mixed-version fleet wrongly, so it must fail a test.

import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';
import { mailboxKey } from './address.js';

export interface Shard {
  /** 0-based: 0 ≤ index < count (a StatefulSet pod's ordinal). */
  readonly index: number;
  readonly count: number;
}

/** More shards than this is a typo (1/300 → 1/3000), not a fleet: 1,000 processes of 1,000 mailboxes each. */
export const MAX_SHARDS = 1000;

const EXAMPLE = 'e.g. --shard 0/3, 1/3 and 2/3 for three processes';

/** Parses `K/N` (digits only, no spaces); `name` is how the user gave it (--shard, or an environment variable). */
export function parseShard(text: string, name = '--shard'): Shard {
  if (/^\s|\s$/.test(text)) throw new UsageError(`${name} ${JSON.stringify(text)} has spaces around it: write K/N alone, ${EXAMPLE}`);
  const m = /^(\d{1,9})\/(\d{1,9})$/.exec(text);
  if (!m) throw new UsageError(`${name} must be K/N (this process's number K, from 0, of N processes), not ${JSON.stringify(text.length > 40 ? `${text.slice(0, 39)}…` : text)}: ${EXAMPLE}`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) throw new UsageError(`${name} ${text}: N, the number of processes, must be at least 1`);
  if (count > MAX_SHARDS) throw new UsageError(`${name} ${text}: N may be at most ${MAX_SHARDS}`);
  if (index >= count) {
    throw new UsageError(`${name} ${text}: K must be below N, as shards are numbered from 0 (${count === 1 ? '0/1' : `0/${count} to ${count - 1}/${count}`})`);
  }
  return { index, count };
}

/** The 64-bit hash of an address: the first 8 bytes of SHA-256 of its lower-cased UTF-8 bytes, big-endian. */
export function addressHash(address: string): bigint {
  return createHash('sha256').update(mailboxKey(address), 'utf8').digest().readBigUInt64BE(0);
}

const MASK64 = (1n << 64n) - 1n;

/** JumpConsistentHash(key, buckets) as published (arXiv:1406.2294, Figure 1), with 64-bit unsigned wrap-around. */
export function jumpHash(key: bigint, buckets: number): number {
  let k = key & MASK64;
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    k = (k * 2862933555777941757n + 1n) & MASK64;
    // IEEE-754 double arithmetic, as the C++ original: exact and the same on every platform V8 runs on.
    j = Math.floor((b + 1) * (2 ** 31 / (Number(k >> 33n) + 1)));
  }
  return b;
}

/** The shard (0 ≤ result < count) an address belongs to. */
export function shardOf(address: string, count: number): number {
  return jumpHash(addressHash(address), count);
}

/** Whether this process (shard.index of shard.count) keeps the address. */
export function inShard(address: string, shard: Shard): boolean {
  return shardOf(address, shard.count) === shard.index;
}
