// The command line of issue 5: hooks taken out of argv (--on, --exec, ';', --), durations, and the settings for
// --details, --from/--subject, --timeout and the hook options. Pure: no process, no network.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveWatchSettings } from '../../src/cli/config.js';
import { formatMs, parseDuration } from '../../src/cli/duration.js';
import { splitHookArgs } from '../../src/cli/hook-args.js';
import { UsageError } from '../../src/errors.js';

const VALUE_FLAGS = new Set(['--subject', '--from', '--events', '--max-events', '--url']);
const usage = (fn: () => unknown, pattern: RegExp): void => {
  assert.throws(fn, (err: unknown) => err instanceof UsageError && pattern.test(err.message));
};

describe('splitHookArgs', () => {
  it('everything after --exec is the program and its arguments, as given', () => {
    assert.deepEqual(splitHookArgs(['--json', '--exec', 'notify-send', '--urgency=low', 'New mail', '--json'], VALUE_FLAGS), {
      argv: ['--json'],
      hooks: [{ argv: ['notify-send', '--urgency=low', 'New mail', '--json'] }],
    });
  });
  it("--on applies to the next --exec; a lone ';' ends a hook and options go on; -- starts the last one", () => {
    const r = splitHookArgs(['--on', 'NewMail', '--exec', 'a', '1', ';', '--max-events', '3', '--exec', 'b', ';', '--on=Deleted', '--', 'c', ';', 'x'], VALUE_FLAGS);
    assert.deepEqual(r.argv, ['--max-events', '3']);
    assert.deepEqual(r.hooks, [
      { events: 'NewMail', argv: ['a', '1'] },
      { argv: ['b'] },
      // After `--` everything is the program's, a ';' too.
      { events: 'Deleted', argv: ['c', ';', 'x'] },
    ]);
  });
  it('the value of an option that takes one is never a hook, even when it reads --exec', () => {
    assert.deepEqual(splitHookArgs(['--subject', '--exec', '--from', '--', '--json'], VALUE_FLAGS), { argv: ['--subject', '--exec', '--from', '--', '--json'], hooks: [] });
  });
  it('demo takes hooks; check, login and logout pass through untouched for commander to judge', () => {
    assert.equal(splitHookArgs(['demo', '--exec', 'x'], VALUE_FLAGS).hooks.length, 1);
    assert.deepEqual(splitHookArgs(['check', '--exec', 'x'], VALUE_FLAGS), { argv: ['check', '--exec', 'x'], hooks: [] });
    assert.deepEqual(splitHookArgs(['--url', 'u', 'login', '--on', 'x'], VALUE_FLAGS).argv, ['--url', 'u', 'login', '--on', 'x']);
  });
  it('mistakes are one-line usage errors', () => {
    usage(() => splitHookArgs(['--exec'], VALUE_FLAGS), /^--exec needs a program to run/);
    usage(() => splitHookArgs(['--exec', ';', '--json'], VALUE_FLAGS), /^--exec needs a program to run/);
    usage(() => splitHookArgs(['--on', 'NewMail'], VALUE_FLAGS), /^--on NewMail must be followed by --exec/);
    usage(() => splitHookArgs(['--on', 'NewMail', '--on', 'Deleted', '--exec', 'x'], VALUE_FLAGS), /^--on NewMail is not followed by --exec/);
    usage(() => splitHookArgs(['--on'], VALUE_FLAGS), /^--on needs a list of events/);
    usage(() => splitHookArgs(['--exec=x'], VALUE_FLAGS), /separate words/);
  });
});

describe('durations', () => {
  it('90s, 2m, 1.5h, 500ms, 1d; a bare number in the default unit', () => {
    const d = (t: string, unit?: 'ms' | 's'): number => parseDuration('--timeout', t, { min: 0, max: 10 * 86_400_000, ...(unit ? { unit } : {}) });
    assert.deepEqual([d('90s'), d('2m'), d('1.5h'), d('500ms'), d('1d'), d('2'), d('250', 'ms'), d(' 3 M ')], [90_000, 120_000, 5_400_000, 500, 86_400_000, 2000, 250, 180_000]);
  });
  it('refuses what is not a duration or out of range, naming the flag and the range', () => {
    usage(() => parseDuration('--timeout', '2 minutes', { min: 1, max: 1000 }), /^--timeout must be a duration such as 90s, 2m or 1h, got "2 minutes"$/);
    usage(() => parseDuration('--timeout', '-1s', { min: 1, max: 1000 }), /must be a duration/);
    usage(() => parseDuration('--timeout', '25d', { min: 1, max: 24 * 86_400_000 }), /^--timeout must be from 1ms to 24d, got 25d$/);
    assert.equal(formatMs(1500), '1.5s');
  });
});

describe('watch settings for details, filters, timeout and hooks', () => {
  it('defaults: no details, no filters, no timeout, no hooks; the runner defaults', () => {
    const s = resolveWatchSettings({}, false);
    assert.equal(s.details, false);
    assert.deepEqual([s.from.length, s.subject.length, s.hooks.length], [0, 0, 0]);
    assert.equal(s.timeoutMs, undefined);
    assert.deepEqual([s.hookTimeoutMs, s.hookConcurrency, s.debounceMs], [30_000, 4, 0]);
  });
  it('--from and --subject imply --details and become matchers', () => {
    const s = resolveWatchSettings({ from: ['bank', '/^noreply@/'], subject: ['code'] }, false);
    assert.equal(s.details, true);
    assert.equal(s.from.length, 2);
    assert.equal(s.subject[0]?.('Your CODE'), true);
  });
  it('--timeout in any unit; hooks with their --on sets checked against --events', () => {
    const s = resolveWatchSettings(
      { timeout: '2m', events: 'NewMail,Deleted', hooks: [{ events: 'newmail, DeletedEvent', argv: ['x'] }, { argv: ['y'] }], debounce: '2s', hookTimeout: '5', hookConcurrency: '2' },
      false,
    );
    assert.equal(s.timeoutMs, 120_000);
    assert.deepEqual(s.hooks.map((h) => [h.argv, h.events && [...h.events]]), [
      [['x'], ['NewMail', 'Deleted']],
      [['y'], undefined],
    ]);
    assert.deepEqual([s.debounceMs, s.hookTimeoutMs, s.hookConcurrency], [2000, 5000, 2]);
  });
  it('hook options without a hook, an --on for an event not watched, bad numbers: usage errors', () => {
    usage(() => resolveWatchSettings({ hookTimeout: '5s' }, false), /^--hook-timeout applies to hooks/);
    usage(() => resolveWatchSettings({ events: 'NewMail', hooks: [{ events: 'Moved', argv: ['x'] }] }, false), /^--on Moved: that event is not watched \(--events NewMail\)$/);
    usage(() => resolveWatchSettings({ hooks: [{ argv: ['x'] }], hookConcurrency: '0' }, false), /^--hook-concurrency must be from 1 to 64/);
    usage(() => resolveWatchSettings({ hooks: [{ argv: ['x'] }], debounce: '11m' }, false), /^--debounce must be from 0ms to 10m/);
    usage(() => resolveWatchSettings({ timeout: 'later' }, false), /^--timeout must be a duration/);
  });
});
