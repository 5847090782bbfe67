// The batcher: which keys share a request and when it goes out, on a fake clock.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBatcher } from '../../src/enrich/batcher.js';
import { createFakeClock } from '../support/fake-clock.js';

function setup(overrides: { maxInFlight?: number; fail?: boolean } = {}) {
  const clock = createFakeClock();
  const calls: string[][] = [];
  const gates: Array<() => void> = [];
  const b = createBatcher<string>({
    clock,
    delayMs: 100,
    maxWaitMs: 300,
    maxBatch: 3,
    maxInFlight: overrides.maxInFlight ?? 2,
    async run(keys) {
      calls.push(keys);
      if (overrides.maxInFlight === 1) await new Promise<void>((r) => gates.push(r));
      if (overrides.fail) throw new Error('boom');
      return keys.map((k) => `v:${k}`);
    },
    failed: (err) => `failed:${(err as Error).message}`,
  });
  return { clock, calls, b, gates };
}

describe('batcher', () => {
  it('one request for keys that arrive together, one entry per distinct key, results by position', async () => {
    const { clock, calls, b } = setup();
    const got = Promise.all([b.get('a'), b.get('b'), b.get('a')]);
    await clock.advance(99);
    assert.equal(calls.length, 0, 'still debouncing');
    await clock.advance(1);
    assert.deepEqual(calls, [['a', 'b']]);
    assert.deepEqual(await got, ['v:a', 'v:b', 'v:a']);
  });

  it('goes out at once at maxBatch keys; the next key starts a new batch', async () => {
    const { clock, calls, b } = setup();
    const got = Promise.all(['a', 'b', 'c', 'd'].map((k) => b.get(k)));
    await clock.flush();
    assert.deepEqual(calls, [['a', 'b', 'c']]);
    await clock.advance(100);
    assert.deepEqual(calls, [['a', 'b', 'c'], ['d']]);
    assert.deepEqual(await got, ['v:a', 'v:b', 'v:c', 'v:d']);
  });

  it('a steady trickle is sent at maxWaitMs after the first key, not postponed for ever', async () => {
    const { clock, calls, b } = setup();
    const start = clock.now();
    for (let i = 0; i < 3; i += 1) {
      void b.get('a');
      await clock.advance(90);
    }
    void b.get('a');
    assert.equal(calls.length, 0, 'each new lookup re-armed the debounce');
    await clock.advance(29);
    assert.equal(calls.length, 0);
    await clock.advance(1);
    assert.deepEqual(calls, [['a']]);
    assert.equal(clock.now() - start, 300);
  });

  it('a failed request gives every key of the batch the failed() value', async () => {
    const { clock, b } = setup({ fail: true });
    const got = Promise.all([b.get('a'), b.get('b')]);
    await clock.advance(100);
    assert.deepEqual(await got, ['failed:boom', 'failed:boom']);
  });

  it('at most maxInFlight requests run; the others wait their turn, in order', async () => {
    const { clock, calls, b, gates } = setup({ maxInFlight: 1 });
    const first = Promise.all(['a', 'b', 'c'].map((k) => b.get(k)));
    const second = b.get('d');
    await clock.advance(100);
    assert.deepEqual(calls, [['a', 'b', 'c']]);
    assert.equal(b.busy, true);
    gates.shift()?.();
    assert.deepEqual(await first, ['v:a', 'v:b', 'v:c']);
    await clock.flush();
    assert.deepEqual(calls, [['a', 'b', 'c'], ['d']]);
    gates.shift()?.();
    assert.equal(await second, 'v:d');
    await clock.flush();
    assert.equal(b.busy, false);
  });
});
