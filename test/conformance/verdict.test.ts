// conformance/verdict.ts, the judge the chaos test and the conformance harness share: which repeats of a change are
// the documented kill window (README, "Catching up" → Limits) and which are duplicates that fail the run.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createOutput, judge, KILL_WINDOW_MS, type Line } from '../../conformance/verdict.js';

const ID = 'AAMkAD-item-0001-abcdefgh';
const T0 = 1_000;

/** One item created at T0 + 10 and printed by `lines`; process 1 killed at `killedAt` (if given). */
function verdictOf(lines: Array<{ at: number; proc: number; source: string }>, killedAt?: number) {
  const output = createOutput();
  output.lines.push(...lines.map((l): Line => ({ at: l.at, proc: l.proc, rec: { event: 'Created', itemId: ID, source: l.source } })));
  const kills = killedAt === undefined ? undefined : new Map([[1, killedAt]]);
  return judge({ truth: new Map([[ID, { createdAt: T0 + 10 }]]), output, present: new Set([ID]), known: new Set([ID]), t0: T0, ...(kills ? { kills } : {}) });
}

describe('judge: a change printed twice', () => {
  const first = { at: 2_000, proc: 1, source: 'catch-up' };
  const again = { at: 3_000, proc: 2, source: 'catch-up' };
  it(`seen ${KILL_WINDOW_MS} ms before its process was killed, printed again by the next catch-up: the kill window, not a duplicate`, () => {
    const v = verdictOf([first, again], 2_000 + KILL_WINDOW_MS);
    assert.deepEqual(v.duplicated, []);
    assert.equal(v.killWindow.length, 1);
    assert.match(v.killWindow[0]!, /×2 \(Created catch-up in process 1 at 1000 ms, Created catch-up in process 2 at 2000 ms\)/);
    assert.deepEqual(v.missed, []);
  });
  const duplicates: Array<[string, Array<typeof first>, number | undefined]> = [
    ['no kills given (the conformance harness)', [first, again], undefined],
    [`seen ${KILL_WINDOW_MS + 1} ms before the kill`, [first, again], 2_000 + KILL_WINDOW_MS + 1],
    ['seen after the kill was sent', [first, again], 1_999],
    ['printed again by the stream of the next process', [first, { ...again, source: 'stream' }], 2_050],
    ['printed twice by the same process', [first, { ...again, proc: 1 }], 2_050],
    ['printed three times', [first, again, { ...again, at: 3_500, proc: 3 }], 2_050],
  ];
  for (const [name, lines, killedAt] of duplicates) {
    it(`${name}: a duplicate`, () => {
      const v = verdictOf(lines, killedAt);
      assert.deepEqual(v.killWindow, []);
      assert.equal(v.duplicated.length, 1);
      assert.match(v.duplicated[0]!, new RegExp(`×${lines.length} `));
    });
  }
});
