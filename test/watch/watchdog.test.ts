// The heartbeat watchdog and the fake clock it is tested with.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWatchdog } from '../../src/watch/watchdog.js';
import { createFakeClock } from '../support/fake-clock.js';

test('watchdog: fires once after timeoutMs of silence', async () => {
  const clock = createFakeClock();
  const fired: number[] = [];
  const start = clock.now();
  createWatchdog(clock, 90_000, () => fired.push(clock.now()));
  await clock.advance(89_999);
  assert.deepEqual(fired, []);
  await clock.advance(1);
  assert.deepEqual(fired, [start + 90_000]);
  await clock.advance(1_000_000);
  assert.equal(fired.length, 1, 'fires once');
});

test('watchdog: every kick restarts the silence', async () => {
  const clock = createFakeClock();
  const start = clock.now();
  let firedAt: number | undefined;
  const dog = createWatchdog(clock, 90_000, () => (firedAt = clock.now()));
  await clock.advance(60_000);
  dog.kick();
  await clock.advance(60_000);
  dog.kick();
  await clock.advance(89_999);
  assert.equal(firedAt, undefined);
  await clock.advance(1);
  assert.equal(firedAt, start + 60_000 + 60_000 + 90_000);
});

test('watchdog: stop() disarms it', async () => {
  const clock = createFakeClock();
  let fired = false;
  const dog = createWatchdog(clock, 1_000, () => (fired = true));
  dog.stop();
  await clock.advance(10_000);
  assert.equal(fired, false);
  assert.equal(clock.pendingCount(), 0, 'no timer left behind');
});

test('fake clock: sleeps are recorded and resolve in due order; abort ends one early', async () => {
  const clock = createFakeClock();
  const start = clock.now();
  const order: string[] = [];
  const ac = new AbortController();
  void clock.sleep(2_000).then(() => order.push('2000'));
  void clock.sleep(500).then(() => order.push('500'));
  void clock.sleep(10_000, ac.signal).then(() => order.push(`aborted at +${clock.now() - start}`));
  await clock.advance(1_000);
  assert.deepEqual(order, ['500']);
  ac.abort();
  await clock.flush();
  await clock.runAll();
  assert.deepEqual(order, ['500', 'aborted at +1000', '2000']);
  assert.equal(clock.now(), start + 2_000);
  assert.deepEqual(clock.sleeps, [2_000, 500, 10_000]);
});

test('fake clock: runUntil reports a deadlock instead of hanging', async () => {
  const clock = createFakeClock();
  await assert.rejects(clock.runUntil(new Promise(() => undefined)), /deadlock/);
});

test('watchdog: paused, silence does not count; resume() starts it again from then', async () => {
  const clock = createFakeClock();
  const start = clock.now();
  let firedAt: number | undefined;
  const dog = createWatchdog(clock, 90_000, () => (firedAt = clock.now()));
  await clock.advance(60_000);
  dog.pause();
  await clock.advance(500_000);
  assert.equal(firedAt, undefined, 'paused for far longer than the timeout');
  dog.resume();
  await clock.advance(89_999);
  assert.equal(firedAt, undefined);
  await clock.advance(1);
  assert.equal(firedAt, start + 560_000 + 90_000);
});
