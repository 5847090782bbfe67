// The undocumented EWS_WATCH_* test knobs: what each value resolves to, and that the back-off knob shortens the
// engine's sleeps and nothing else.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scaledSleeps } from '../../src/base/clock.js';
import { resolveTuning } from '../../src/cli/command-config.js';
import { createLookup } from '../../src/cli/precedence.js';
import { createFakeClock } from '../support/fake-clock.js';

const tuning = (env: Record<string, string>) => resolveTuning(createLookup({ env, dotenv: {} }));

describe('EWS_WATCH_BACKOFF_PERCENT', () => {
  for (const [value, percent] of [
    [undefined, 100],
    ['', 100],
    ['5', 5],
    ['1', 1],
    ['0', 100],
    ['250', 100],
    ['2.5', 100],
    ['x', 100],
  ] as const) {
    it(`${value === undefined ? 'unset' : JSON.stringify(value)} → ${percent} %`, () => {
      assert.equal(tuning(value === undefined ? {} : { EWS_WATCH_BACKOFF_PERCENT: value }).backoffPercent, percent);
    });
  }

  it('shortens sleeps to that share; now() and timers stay as they were', async () => {
    const fake = createFakeClock();
    const clock = scaledSleeps(fake, 5);
    let slept = false;
    void clock.sleep(4_000).then(() => (slept = true));
    let fired = false;
    clock.setTimer(1_000, () => (fired = true));
    assert.deepEqual(fake.sleeps, [200]);
    assert.deepEqual(fake.timerDelays, [1_000]);
    await fake.advance(200);
    assert.equal(slept, true);
    assert.equal(fired, false);
    assert.equal(clock.now(), fake.now());
  });

  it('at 100 % the clock is handed on as it is', () => {
    const fake = createFakeClock();
    assert.equal(scaledSleeps(fake, 100), fake);
  });
});

describe('EWS_WATCH_MAILBOX_RETRY_MS', () => {
  for (const [value, ms] of [
    [undefined, undefined],
    ['', undefined],
    ['1000', 1_000],
    ['100', 100],
    ['99', 900_000],
    ['x', 900_000],
  ] as const) {
    it(`${value === undefined ? 'unset' : JSON.stringify(value)} → ${ms === undefined ? "the fleet's default" : `${ms} ms`}`, () => {
      assert.equal(tuning(value === undefined ? {} : { EWS_WATCH_MAILBOX_RETRY_MS: value }).mailboxRetryMs, ms);
    });
  }
});
