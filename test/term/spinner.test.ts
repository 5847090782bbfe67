// The status line against a recording stream and a fake clock: what is written, and how often.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ageText, createStatusLine, renderStatus, type StatusStream } from '../../src/term/spinner.js';
import { createFakeClock } from '../support/fake-clock.js';

function recorder(columns?: number): StatusStream & { writes: string[]; resize(cols: number): void } {
  const writes: string[] = [];
  let onResize: (() => void) | undefined;
  const stream = {
    writes,
    columns,
    write: (s: string) => void writes.push(s),
    on: (_: 'resize', fn: () => void) => void (onResize = fn),
    off: () => void (onResize = undefined),
    resize(cols: number) {
      stream.columns = cols;
      onResize?.();
    },
  };
  return stream;
}

const CLEAR = '\r\u001b[2K';

describe('status line', () => {
  it('idle with a heartbeat showing: one write when the age shown changes (10 s steps, then minutes), none in between', async () => {
    const clock = createFakeClock();
    const out = recorder(80);
    const status = createStatusLine(out, { enabled: true, clock });
    status.set('watching inbox · heartbeat {ago}', clock.now() - 400);
    assert.deepEqual(out.writes, ['watching inbox · heartbeat just now']);
    await clock.advance(9_599);
    assert.equal(out.writes.length, 1);
    await clock.advance(1);
    assert.deepEqual(out.writes.slice(1), [`${CLEAR}watching inbox · heartbeat 10 s ago`]);
    // To an age of 3 min: 20, 30, 40, 50 s, then 1, 2 and 3 min. A minute of idle costs a few writes, not sixty.
    await clock.advance(170_000);
    assert.deepEqual(
      out.writes.slice(2).map((w) => w.replace(`${CLEAR}watching inbox · heartbeat `, '')),
      ['20 s ago', '30 s ago', '40 s ago', '50 s ago', '1 min ago', '2 min ago', '3 min ago'],
    );
    // The clock is asked for one wake-up per change of the text, never for animation frames.
    assert.ok(clock.timerDelays.length <= 10, String(clock.timerDelays.length));
    status.stop();
    assert.equal(out.writes.at(-1), CLEAR);
    await clock.advance(600_000);
    assert.equal(out.writes.length, 10);
    assert.equal(clock.pendingCount(), 0);
  });

  it('ageText: just now, tens of seconds, minutes, hours, each with the age at which it changes', () => {
    const at = (ms: number): [string, number] => {
      const a = ageText(ms);
      return [a.text, a.changesAt];
    };
    assert.deepEqual([at(-5), at(0), at(9_999), at(10_000), at(59_999), at(60_000), at(3_599_999), at(3_600_000), at(7_300_000)], [
      ['just now', 10_000],
      ['just now', 10_000],
      ['just now', 10_000],
      ['10 s ago', 20_000],
      ['50 s ago', 60_000],
      ['1 min ago', 120_000],
      ['59 min ago', 3_600_000],
      ['1 h ago', 7_200_000],
      ['2 h ago', 10_800_000],
    ]);
  });

  it('timers that fire a millisecond early and a clock that moves while it draws: every step is shown, none skipped', async () => {
    const fake = createFakeClock();
    // Within one wake-up, the first reading is the wake-up time and any later one a millisecond after it.
    let reads = 0;
    const clock = {
      now: () => fake.now() + Math.min(reads++, 1),
      setTimer: (ms: number, fn: () => void) =>
        fake.setTimer(ms > 1 ? ms - 1 : ms, () => {
          reads = 0;
          fn();
        }),
    };
    const out = recorder(80);
    const status = createStatusLine(out, { enabled: true, clock });
    status.set('heartbeat {ago}', fake.now());
    await fake.advance(130_500);
    const shown = out.writes.map((w) => /heartbeat (.+)$/.exec(w)?.[1]).filter((x) => x !== undefined);
    assert.deepEqual(shown, ['just now', '10 s ago', '20 s ago', '30 s ago', '40 s ago', '50 s ago', '1 min ago', '2 min ago']);
    status.stop();
  });

  it('text without {ago}: drawn once, never again while nothing changes; the same text set again writes nothing', async () => {
    const clock = createFakeClock();
    const out = recorder(80);
    const status = createStatusLine(out, { enabled: true, clock });
    status.set('connecting');
    status.set('connecting');
    await clock.advance(120_000);
    assert.deepEqual(out.writes, ['connecting']);
    assert.equal(clock.pendingCount(), 0);
    status.set('watching inbox');
    assert.deepEqual(out.writes, ['connecting', `${CLEAR}watching inbox`]);
  });

  it('nothing at all is drawn before the first set(): lines written before it go out as they are', () => {
    const clock = createFakeClock();
    const out = recorder(80);
    const status = createStatusLine(out, { enabled: true, clock });
    status.write('Password for alice: \n');
    status.write('ews-watch: warning: x\n');
    assert.deepEqual(out.writes, ['Password for alice: \n', 'ews-watch: warning: x\n']);
  });

  it('a line written while it shows: the status line is cleared, the line goes out, the status line comes back, in one write', () => {
    const clock = createFakeClock();
    const out = recorder(80);
    const status = createStatusLine(out, { enabled: true, clock });
    status.set('watching inbox');
    status.write('ews-watch: warning: reconnecting\n');
    assert.deepEqual(out.writes, ['watching inbox', `${CLEAR}ews-watch: warning: reconnecting\nwatching inbox`]);
  });

  it('beside(): stdout output on the same terminal gets a cleared line, then the status line is drawn again', () => {
    const clock = createFakeClock();
    const out = recorder(80);
    const status = createStatusLine(out, { enabled: true, clock });
    status.set('watching inbox');
    const stdout: string[] = [];
    const r = status.beside(() => (stdout.push('event\n'), out.writes.push('<stdout>'), 7));
    assert.equal(r, 7);
    assert.deepEqual(out.writes, ['watching inbox', CLEAR, '<stdout>', 'watching inbox']);
    assert.throws(() => status.beside(() => { throw new Error('write failed'); }), /write failed/);
    assert.equal(out.writes.at(-1), 'watching inbox');
  });

  it('fitted to one cell less than the width; a terminal that reports 0 columns gets the 80-column fallback, with no cursor movement', () => {
    assert.equal(renderStatus('watching inbox of alice@contoso.com', undefined, 0, 20), 'watching inbox of…');
    const long = `watching inbox of ${'x'.repeat(200)}@contoso.com`;
    for (const cols of [0, undefined, Number.NaN, 1]) assert.equal([...renderStatus(long, undefined, 0, cols)].length, 79, String(cols));
    const clock = createFakeClock();
    const out = recorder(0);
    const status = createStatusLine(out, { enabled: true, clock });
    for (let i = 0; i < 100; i++) status.set(`${i} ${long}`);
    status.stop();
    const all = out.writes.join('');
    assert.equal(out.writes.length, 101);
    // Only carriage return + erase line: nothing that moves the cursor up, whatever the width.
    assert.deepEqual(new Set(all.match(/\u001b\[[0-9;?]*[A-Za-z]/g)), new Set(['\u001b[2K']));
    assert.ok(all.length < 100 * 100, String(all.length));
  });

  it('redrawn to the new width when the terminal is resized', () => {
    const clock = createFakeClock();
    const out = recorder(80);
    const status = createStatusLine(out, { enabled: true, clock });
    status.set('watching inbox of alice@contoso.com');
    out.resize(12);
    assert.deepEqual(out.writes, ['watching inbox of alice@contoso.com', `${CLEAR}watching i…`]);
  });

  it('control characters in the text never reach the terminal; colour only when asked (dim)', () => {
    const clock = createFakeClock();
    const plain = recorder(80);
    createStatusLine(plain, { enabled: true, clock }).set('waiting 2 s (\u001b[2Jbusy\u0007)');
    assert.deepEqual(plain.writes, ['waiting 2 s (busy)']);
    const coloured = recorder(80);
    createStatusLine(coloured, { enabled: true, clock, colour: true }).set('connecting');
    assert.deepEqual(coloured.writes, ['\u001b[2mconnecting\u001b[22m']);
  });

  it('disabled: set() draws nothing, write() passes through, and no timer is started', async () => {
    const clock = createFakeClock();
    const out = recorder(80);
    const status = createStatusLine(out, { enabled: false, clock });
    status.set('watching · heartbeat {ago}', clock.now());
    status.write('line\n');
    assert.equal(status.beside(() => 3), 3);
    await clock.advance(5000);
    status.stop();
    assert.deepEqual(out.writes, ['line\n']);
    assert.equal(clock.pendingCount(), 0);
  });

  it('after stop(): lines still go out (the final error), set() draws nothing', () => {
    const clock = createFakeClock();
    const out = recorder(80);
    const status = createStatusLine(out, { enabled: true, clock });
    status.set('connecting');
    status.stop();
    status.stop();
    status.set('again');
    status.write('ews-watch: failed\n');
    assert.deepEqual(out.writes, ['connecting', CLEAR, 'ews-watch: failed\n']);
  });
});
