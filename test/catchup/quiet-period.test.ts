// When the quiet-period pass runs (src/catchup/quiet-period.ts), on a fake clock: the times each pass started at.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createQuietPeriod, QUIET_MAX_WAIT_MS } from '../../src/catchup/quiet-period.js';
import { createFakeClock, FAKE_EPOCH } from '../support/fake-clock.js';

function setup(o: { quietMs?: number; pressed?: boolean; fails?: number } = {}) {
  const clock = createFakeClock();
  const closing = new AbortController();
  const debug: string[] = [];
  const pressed = o.pressed ?? false;
  let failures = o.fails ?? 0;
  const quiet = createQuietPeriod({ clock, quietMs: o.quietMs ?? 10_000, pressed: () => pressed, debug: (l) => debug.push(l), closing: closing.signal });
  /** When each pass started, in ms since the fake epoch. */
  const started: number[] = [];
  const pass = async (): Promise<void> => {
    started.push(clock.now() - FAKE_EPOCH);
    if (failures > 0) {
      failures -= 1;
      throw new Error('busy');
    }
  };
  /** A streamed event every `every` ms from now until `until` ms since the epoch, or until a pass started. */
  async function stream(every: number, until: number): Promise<void> {
    const seen = started.length;
    while (clock.now() - FAKE_EPOCH < until && started.length === seen) {
      quiet.arm(pass);
      await clock.advance(every);
    }
  }
  return { clock, closing, debug, quiet, pass, started, stream };
}

describe('the quiet-period pass', () => {
  it('runs quietMs after the last streamed event: each event pushes it back', async () => {
    const { clock, quiet, pass, started, debug } = setup();
    quiet.arm(pass);
    await clock.advance(5_000);
    quiet.arm(pass);
    await clock.advance(9_999);
    assert.deepEqual(started, []);
    await clock.advance(1);
    assert.deepEqual(started, [15_000]);
    assert.deepEqual(debug, ['catch-up: quiet-period sync done; saved state is current']);
    await clock.advance(60_000);
    assert.deepEqual(started, [15_000], 'once: nothing streamed since');
  });

  it('a stream that is never quiet still gets its pass QUIET_MAX_WAIT_MS after its first unsynced event', async () => {
    const { started, stream } = setup();
    await stream(5_000, 600_000);
    // The last push-back is the event at 295 s; the one at 300 s no longer moves the pass (due at 305 s).
    assert.deepEqual(started, [QUIET_MAX_WAIT_MS + 5_000]);
  });

  it('a ledger past half full: the stream no longer pushes the armed pass back', async () => {
    const { started, stream } = setup({ pressed: true });
    await stream(5_000, 600_000);
    assert.deepEqual(started, [10_000]);
  });

  it('after a failed pass, a full ledger does not hurry the next one for QUIET_MAX_WAIT_MS', async () => {
    const { started, stream, debug } = setup({ pressed: true, fails: 1 });
    await stream(5_000, 600_000);
    assert.deepEqual(started, [10_000]);
    assert.deepEqual(debug, ['catch-up: quiet-period sync failed: busy']);
    // Pushed back by every event again, as if the ledger were not full: the next pass waits for the bound.
    await stream(5_000, 900_000);
    assert.deepEqual(started, [10_000, 10_000 + QUIET_MAX_WAIT_MS + 5_000]);
  });

  it('quietMs 0: never armed', async () => {
    const { clock, quiet, pass, started } = setup({ quietMs: 0 });
    quiet.arm(pass);
    assert.equal(clock.pendingCount(), 0);
    await clock.advance(QUIET_MAX_WAIT_MS * 2);
    assert.deepEqual(started, []);
  });

  it('cancel (a gap, or closing): the armed pass does not run; the next event arms a new one', async () => {
    const { clock, quiet, pass, started } = setup();
    quiet.arm(pass);
    await clock.advance(5_000);
    quiet.cancel();
    await clock.advance(60_000);
    assert.deepEqual(started, []);
    quiet.arm(pass);
    await clock.advance(10_000);
    assert.deepEqual(started, [75_000]);
  });

  it('a pass that fails while the catch-up closes is not worth a line', async () => {
    const { clock, closing, quiet, pass, started, debug } = setup({ fails: 1 });
    quiet.arm(pass);
    closing.abort();
    await clock.advance(10_000);
    assert.deepEqual([started, debug], [[10_000], []]);
  });
});
