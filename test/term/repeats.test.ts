// Folding storms of alike warnings, with a fake clock: what is printed as it comes, what is held back, and the one
// summary line per window that says how many were held.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/term/logger.js';
import { FOLD_AFTER, FOLD_WINDOW_MS, createRepeatFolder, foldWarnings, kindOf } from '../../src/term/repeats.js';
import { createFakeClock } from '../support/fake-clock.js';

const busy = (n: number, s: number): string => `Subscribe: ErrorServerBusy: Suggested backoff time 0 ms (attempt ${n}; next try in ${s} s)`;

function setup() {
  const clock = createFakeClock();
  const printed: { at: number; line: string }[] = [];
  const start = clock.now();
  const folder = createRepeatFolder({ clock, print: (line) => printed.push({ at: clock.now() - start, line }) });
  return { clock, printed, folder, lines: () => printed.map((p) => p.line) };
}

describe('folding alike warnings', () => {
  it('lines that differ only in numbers are alike; others are not', () => {
    assert.equal(kindOf(busy(3, 4)), kindOf(busy(12, 1.6)));
    assert.notEqual(kindOf('GetItem: HTTP 503'), kindOf('GetItem: HTTP 503 (Service Unavailable)'));
  });

  it(`a storm of 200 alike lines in a minute prints the first ${FOLD_AFTER}, then one summary when the minute is over`, async () => {
    const s = setup();
    for (let i = 1; i <= 200; i++) {
      s.folder.offer(busy(i, i % 7));
      await s.clock.advance(250);
    }
    // 200 lines over 50 s; the window of the first closes at 60 s.
    assert.deepEqual(s.lines(), [busy(1, 1), busy(2, 2), busy(3, 3)]);
    await s.clock.advance(10_000);
    assert.deepEqual(s.printed.slice(3), [{ at: FOLD_WINDOW_MS, line: `${busy(200, 200 % 7)} (196 more like this in the last minute)` }]);
    assert.equal(s.clock.pendingCount(), 0, 'no timer left');
  });

  it('a storm that goes on for ten minutes prints O(1) lines a minute, and says each minute that it goes on', async () => {
    const s = setup();
    for (let i = 1; i <= 600; i++) {
      s.folder.offer(busy(i, 1));
      await s.clock.advance(1000);
    }
    s.folder.flush();
    const summaries = s.lines().filter((l) => l.includes('more like this'));
    assert.equal(s.printed.length, FOLD_AFTER + 10, s.lines().join('\n'));
    assert.deepEqual(
      summaries.map((l) => /\((\d+) more/.exec(l)?.[1]),
      // 3 printed, then 57 held in the first minute; 60 a minute after that; the flush at the end holds the last.
      ['56', '59', '59', '59', '59', '59', '59', '59', '59', '59'],
    );
    assert.ok(s.printed.slice(FOLD_AFTER, -1).every((p, i) => p.at === (i + 1) * FOLD_WINDOW_MS), JSON.stringify(s.printed));
  });

  it('a few alike lines a minute (the backoff at its 60 s cap) are all printed', async () => {
    const s = setup();
    for (let i = 1; i <= 5; i++) {
      s.folder.offer(busy(i, 60));
      await s.clock.advance(60_000);
    }
    assert.equal(s.printed.length, 5);
  });

  it('one held line is printed as it was, at the end of its window; different kinds fold apart', async () => {
    const s = setup();
    for (let i = 1; i <= FOLD_AFTER + 1; i++) s.folder.offer(busy(i, 1));
    s.folder.offer('hook `notify-send` failed (exit 1)');
    await s.clock.advance(FOLD_WINDOW_MS);
    assert.deepEqual(s.lines(), [busy(1, 1), busy(2, 1), busy(3, 1), 'hook `notify-send` failed (exit 1)', busy(4, 1)]);
  });

  it('flush() at the end of a run prints what is held, with the time it covers, and cancels the timers', async () => {
    const s = setup();
    for (let i = 1; i <= 8; i++) s.folder.offer(busy(i, 1));
    await s.clock.advance(12_000);
    assert.equal(s.printed.length, 3);
    s.folder.flush();
    assert.deepEqual(s.lines().slice(3), [`${busy(8, 1)} (4 more like this in the last 12 s)`]);
    assert.equal(s.clock.pendingCount(), 0);
    s.folder.flush();
    assert.equal(s.printed.length, 4, 'nothing twice');
  });

  it('a kind that was quiet for a window starts afresh', async () => {
    const s = setup();
    for (let i = 1; i <= 5; i++) s.folder.offer(busy(i, 1));
    await s.clock.advance(3 * FOLD_WINDOW_MS);
    for (let i = 6; i <= 8; i++) s.folder.offer(busy(i, 1));
    assert.deepEqual(s.lines().slice(-3), [busy(6, 1), busy(7, 1), busy(8, 1)]);
  });

  it('foldWarnings: the logger prints folded warnings with its prefix and redaction; errors and debug lines are never folded', async () => {
    const clock = createFakeClock();
    const out: string[] = [];
    const logger = foldWarnings(createLogger((t) => out.push(t), 1), clock);
    logger.addSecret('pw-9');
    for (let i = 1; i <= 5; i++) logger.warn(`try ${i} with pw-9 failed`);
    for (let i = 1; i <= 5; i++) logger.debug(`debug ${i}`);
    for (let i = 1; i <= 5; i++) logger.error(`error ${i}`);
    logger.flush();
    assert.deepEqual(out.filter((l) => l.includes('try')), [
      'ews-watch: warning: try 1 with [redacted] failed\n',
      'ews-watch: warning: try 2 with [redacted] failed\n',
      'ews-watch: warning: try 3 with [redacted] failed\n',
      'ews-watch: warning: try 5 with [redacted] failed (1 more like this in the last 1 s)\n',
    ]);
    assert.equal(out.filter((l) => /debug|error/.test(l)).length, 10);
    assert.equal(clock.pendingCount(), 0);
  });
});
