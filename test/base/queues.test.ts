// The queues of the hot path: the FIFO with a head index (src/base/fifo.ts), the two-mark backlog
// (src/base/backlog.ts) and the hook run queue's order (src/hooks/queue.ts): per key in push order, otherwise in
// push order among the runs free to start, nothing dropped.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBacklog } from '../../src/base/backlog.js';
import { createFifo } from '../../src/base/fifo.js';
import { createRunQueue } from '../../src/hooks/queue.js';

describe('fifo', () => {
  it('takes in push order across compactions, and takeAll() empties it', () => {
    const q = createFifo<number>();
    const taken: number[] = [];
    for (let i = 0; i < 5000; i++) {
      q.push(i);
      if (i % 3 === 2) taken.push(q.take() as number, q.take() as number);
    }
    assert.equal(q.length, 5000 - taken.length);
    assert.deepEqual(taken, Array.from({ length: taken.length }, (_, i) => i));
    assert.equal(q.peek(), taken.length);
    const rest = q.takeAll();
    assert.deepEqual(rest, Array.from({ length: 5000 - taken.length }, (_, i) => taken.length + i));
    assert.equal(q.length, 0);
    assert.equal(q.take(), undefined);
  });
});

describe('backlog', () => {
  it('backed up above high, until down to low; release() lets waiters go for good', async () => {
    const b = createBacklog({ high: 3, low: 1 });
    const states = [0, 1, 2, 3, 4, 3, 2, 1].map((n) => (b.update(n), b.ready() === undefined ? 'ok' : 'behind'));
    assert.deepEqual(states, ['ok', 'ok', 'ok', 'ok', 'behind', 'behind', 'behind', 'ok']);
    b.update(9);
    const wait = b.ready();
    assert.ok(wait);
    b.release();
    await wait;
    b.update(100);
    assert.equal(b.ready(), undefined, 'released: never behind again');
  });
});

describe('run queue', () => {
  it('concurrency 1: runs in push order across keys, a key never overlaps itself; nothing dropped', async () => {
    const started: string[] = [];
    const finish: Array<() => void> = [];
    const q = createRunQueue<{ key?: string; name: string }>({
      concurrency: 1,
      keyOf: (j) => j.key,
      run: (j) => new Promise<void>((resolve) => (started.push(j.name), finish.push(resolve))),
    });
    const jobs = [
      { key: 'a', name: 'a1' },
      { key: 'a', name: 'a2' },
      { key: 'b', name: 'b1' },
      { name: 'free' },
      { key: 'a', name: 'a3' },
    ];
    for (const j of jobs) q.push(j);
    assert.equal(q.waiting, 4);
    while (finish.length > 0) {
      finish.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await q.idle();
    assert.deepEqual(started, ['a1', 'a2', 'b1', 'free', 'a3']);
  });

  it('concurrency 2: a key waits behind its own running job while other keys go ahead', async () => {
    const started: string[] = [];
    const finish = new Map<string, () => void>();
    const sizes: number[] = [];
    const q = createRunQueue<{ key: string; name: string }>({
      concurrency: 2,
      keyOf: (j) => j.key,
      run: (j) => new Promise<void>((resolve) => (started.push(j.name), finish.set(j.name, resolve))),
      onSize: (n) => sizes.push(n),
    });
    for (const [key, name] of [['a', 'a1'], ['a', 'a2'], ['b', 'b1'], ['c', 'c1']]) q.push({ key: key!, name: name! });
    assert.deepEqual(started, ['a1', 'b1'], 'a2 waits for a1; b1 goes ahead');
    finish.get('b1')!();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(started, ['a1', 'b1', 'c1']);
    finish.get('a1')!();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(started, ['a1', 'b1', 'c1', 'a2']);
    assert.deepEqual(q.clear(), []);
    assert.equal(sizes.at(-1), 0);
  });
});
