// --shard K/N (src/mailboxes/shard.ts): parsing with its errors, the exact partition of a list by N processes,
// the pinned hash (pods of different versions must agree), balance, and minimal movement when N grows.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressHash, inShard, jumpHash, MAX_SHARDS, parseShard, shardOf } from '../../src/mailboxes/shard.js';

const list = Array.from({ length: 1000 }, (_, i) => `user${i}.${(i * 7919) % 1000}@dept${i % 13}.contoso.com`);

describe('parseShard', () => {
  it('reads K/N, 0-based', () => {
    assert.deepEqual(parseShard('0/1'), { index: 0, count: 1 });
    assert.deepEqual(parseShard('1/3'), { index: 1, count: 3 });
    assert.deepEqual(parseShard('2/3'), { index: 2, count: 3 });
    assert.deepEqual(parseShard(`999/${MAX_SHARDS}`), { index: 999, count: 1000 });
  });

  it('refuses what is not K/N with a clear one-line error', () => {
    const cases: [string, RegExp][] = [
      ['3/3', /^--shard 3\/3: K must be below N, as shards are numbered from 0 \(0\/3 to 2\/3\)$/],
      ['1/1', /^--shard 1\/1: K must be below N, as shards are numbered from 0 \(0\/1\)$/],
      ['a/b', /^--shard must be K\/N \(this process's number K, from 0, of N processes\), not "a\/b": e\.g\. --shard 0\/3/],
      ['1/0', /^--shard 1\/0: N, the number of processes, must be at least 1$/],
      ['0/0', /^--shard 0\/0: N, the number of processes, must be at least 1$/],
      [' 1/3 ', /^--shard " 1\/3 " has spaces around it: write K\/N alone/],
      ['1/3\n', /^--shard "1\/3\\n" has spaces around it/],
      ['1 / 3', /^--shard must be K\/N .*not "1 \/ 3"/],
      ['-1/3', /not "-1\/3"/],
      ['1.0/3', /not "1\.0\/3"/],
      ['1/', /not "1\/"/],
      ['', /not ""/],
      ['0/1001', /^--shard 0\/1001: N may be at most 1000$/],
      ['0/99999999999', /not "0\/99999999999"/],
    ];
    for (const [text, re] of cases) assert.throws(() => parseShard(text), (e: Error) => e.name === 'UsageError' && re.test(e.message) && !e.message.includes('\n'), text);
    assert.throws(() => parseShard('3/3', 'EWS_SHARD'), /^UsageError: EWS_SHARD 3\/3: K must be below N/);
  });
});

describe('jump consistent hash and the address hash', () => {
  it('matches the published algorithm on vectors of an independent implementation (ClickHouse jumpConsistentHash)', () => {
    assert.deepEqual(
      [jumpHash(1n, 1), jumpHash(42n, 57), jumpHash(256n, 1024), jumpHash(3735883980n, 1), jumpHash(3735883980n, 666), jumpHash(16045690984833335023n, 255)],
      [0, 43, 520, 0, 361, 237],
    );
  });

  it('hashes the lower-cased address: the first 8 bytes of SHA-256 (printf %s alice@contoso.com | sha256sum)', () => {
    assert.equal(addressHash('alice@contoso.com'), 0x7c33b2e6eb981348n);
    assert.equal(addressHash('ALICE@Contoso.COM'), 0x7c33b2e6eb981348n);
    assert.equal(addressHash('bob@contoso.com'), 0xbaca3cefe93f818fn);
  });

  it('gives pinned shards (a change of hash splits a mixed-version fleet wrongly)', () => {
    const n = [1, 2, 3, 7, 10, 1000];
    assert.deepEqual(n.map((c) => shardOf('alice@contoso.com', c)), [0, 0, 0, 0, 9, 234]);
    assert.deepEqual(n.map((c) => shardOf('Bob@Contoso.com', c)), [0, 0, 2, 2, 8, 897]);
    assert.deepEqual(n.map((c) => shardOf('help-desk@fabrikam.onmicrosoft.com', c)), [0, 1, 1, 1, 1, 928]);
    assert.deepEqual(n.map((c) => shardOf('a#b@example.org', c)), [0, 1, 1, 3, 3, 664]);
  });
});

describe('inShard', () => {
  for (const count of [1, 2, 3, 7]) {
    it(`N = ${count}: the shards of 1,000 addresses partition the list exactly`, () => {
      const parts = Array.from({ length: count }, (_, index) => list.filter((a) => inShard(a, { index, count })));
      assert.equal(parts.flat().length, list.length, 'no address in two shards');
      assert.deepEqual([...parts.flat()].sort(), [...list].sort(), 'every address in a shard');
      for (let i = 0; i < count; i++) for (let j = i + 1; j < count; j++) assert.equal(parts[i]!.filter((a) => parts[j]!.includes(a)).length, 0);
      // Balance: a binomial count for 1,000 draws stays within 5 standard deviations of its mean.
      const mean = list.length / count;
      const sd = Math.sqrt(list.length * (1 / count) * (1 - 1 / count));
      for (const p of parts) assert.ok(Math.abs(p.length - mean) <= 5 * sd + 1e-9, `shard of ${p.length}, mean ${mean}`);
    });
  }

  it('balances 1,000 addresses over 7 shards within 25% of the mean', () => {
    const sizes = Array.from({ length: 7 }, (_, index) => list.filter((a) => inShard(a, { index, count: 7 })).length);
    assert.ok(Math.min(...sizes) >= 107 && Math.max(...sizes) <= 179, String(sizes));
  });

  it('ignores case: the spellings of one address land in one shard', () => {
    for (const a of list.slice(0, 200)) {
      const upper = a.toUpperCase();
      const mixed = a.replace(/[a-z]/g, (c, i: number) => (i % 2 ? c.toUpperCase() : c));
      assert.equal(shardOf(upper, 7), shardOf(a, 7), upper);
      assert.equal(shardOf(mixed, 7), shardOf(a, 7), mixed);
    }
  });

  it('moves only about 1/(N+1) of the mailboxes when N grows, all to the new shard N', () => {
    for (const n of [1, 2, 3, 6]) {
      const moved = list.filter((a) => shardOf(a, n + 1) !== shardOf(a, n));
      assert.ok(moved.every((a) => shardOf(a, n + 1) === n), `N ${n} → ${n + 1}: a mailbox moved between old shards`);
      const expected = list.length / (n + 1);
      assert.ok(Math.abs(moved.length - expected) <= 0.25 * expected, `N ${n} → ${n + 1}: ${moved.length} moved, about ${expected} expected`);
    }
  });
});
