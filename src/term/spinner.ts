// The status line on stderr ("watching inbox of … · heartbeat 20 s ago"): one line, redrawn only when its text
// changes (ages are shown in steps of 10 s, then minutes, so an idle line changes a few times a minute), fitted to
// the terminal's width, never animated. Lines written
// to stderr meanwhile go through write(), which clears the status line first so the two never mix.

import { cleanText } from '../base/sanitize.js';
import { fitWidth } from '../base/width.js';
import type { Clock, TimerHandle } from '../base/clock.js';

export interface StatusLine {
  /** Sets the text; `{ago}` in it is replaced by the time since `since` (ageText), kept current while it shows. */
  set(text: string, since?: number): void;
  /** Writes whole lines to stderr without tearing the status line. */
  write(text: string): void;
  stop(): void;
}

/** What the command that owns the terminal gets. */
export interface TerminalStatusLine extends StatusLine {
  /** Runs `fn` (which writes to stdout, on the same terminal) with the status line cleared, then redraws it. */
  beside<T>(fn: () => T): T;
}

/** What the status line needs of stderr: a tty.WriteStream in production, a recorder in tests. */
export interface StatusStream {
  write(text: string): unknown;
  /** The terminal's width; 0 or undefined (a pty that reports no size) means unknown: FALLBACK_COLUMNS then. */
  readonly columns?: number;
  on?(event: 'resize', fn: () => void): unknown;
  off?(event: 'resize', fn: () => void): unknown;
}

export interface StatusLineOptions {
  /** Off: set() does nothing and write() writes straight through (not a terminal, CI, TERM=dumb, --quiet). */
  enabled: boolean;
  clock: Pick<Clock, 'now' | 'setTimer'>;
  /** Dim the text (SGR 2); false under NO_COLOR / --color never. */
  colour?: boolean;
}

// Carriage return, then erase the whole line (ECMA-48 EL, parameter 2): the cursor stays on this one line, so
// nothing depends on the width being known, and no cursor-up is ever needed.
const CLEAR = '\r\u001b[2K';

/**
 * `{ago}` as a person reads it, in coarse steps so that an idle line changes rarely (each redraw costs a write and
 * a wake-up): "just now" under 10 s, then "10 s ago" … "50 s ago", "1 min ago" … "59 min ago", "1 h ago" …; and
 * the age at which the text changes next.
 */
export function ageText(ageMs: number): { text: string; changesAt: number } {
  const s = Math.max(0, Math.floor(ageMs / 1000));
  if (s < 10) return { text: 'just now', changesAt: 10_000 };
  if (s < 60) return { text: `${Math.floor(s / 10) * 10} s ago`, changesAt: (Math.floor(s / 10) + 1) * 10_000 };
  if (s < 3600) return { text: `${Math.floor(s / 60)} min ago`, changesAt: (Math.floor(s / 60) + 1) * 60_000 };
  return { text: `${Math.floor(s / 3600)} h ago`, changesAt: (Math.floor(s / 3600) + 1) * 3_600_000 };
}

/** When the terminal does not say (a pty with no size: `docker -t`, `ssh -tt`, script(1)), assume the classic width. */
export const FALLBACK_COLUMNS = 80;

/** The text as drawn: one line of printable text, cut to fit the terminal. */
export function renderStatus(template: string, since: number | undefined, now: number, columns: number | undefined): string {
  const text = cleanText(since === undefined ? template : template.replace('{ago}', ageText(now - since).text));
  const width = columns !== undefined && Number.isInteger(columns) && columns > 1 ? columns : FALLBACK_COLUMNS;
  // One cell short of the width: a line that reaches the last column wraps on some terminals, and CLEAR would then
  // erase only its second row, leaving the first behind at every redraw.
  return fitWidth(text, width - 1);
}

export function createStatusLine(stream: StatusStream, o: StatusLineOptions): TerminalStatusLine {
  if (!o.enabled) return { set: () => undefined, write: (t) => void stream.write(t), beside: (fn) => fn(), stop: () => undefined };
  let template: string | undefined;
  let since: number | undefined;
  let drawn = '';
  let stopped = false;
  let timer: TimerHandle | undefined;
  const style = (text: string): string => (o.colour && text !== '' ? `\u001b[2m${text}\u001b[22m` : text);
  const current = (now: number): string => (stopped || template === undefined ? '' : renderStatus(template, since, now, stream.columns));
  /** Writes `before` (whole lines, after clearing the line) and the line, in one write; nothing when nothing changed. */
  const draw = (before = '', now = o.clock.now()): void => {
    const next = current(now);
    if (before === '' && next === drawn) return;
    const out = (drawn !== '' ? CLEAR : '') + before + style(next);
    drawn = next;
    if (out !== '') stream.write(out);
  };
  /**
   * With `{ago}` showing, wakes up when the age shown changes, and not otherwise. `now` is the time the line was
   * drawn for: reading the clock again could skip a step (a timer may also fire a millisecond early: then the
   * text is unchanged, nothing is written, and the next wake-up is a millisecond away).
   */
  const schedule = (now: number): void => {
    timer?.cancel();
    timer = undefined;
    if (stopped || since === undefined || template === undefined || !template.includes('{ago}')) return;
    const at = since + ageText(now - since).changesAt;
    timer = o.clock.setTimer(Math.max(1, at - now), () => {
      const t = o.clock.now();
      draw('', t);
      schedule(t);
    });
  };
  const onResize = (): void => draw();
  stream.on?.('resize', onResize);
  return {
    set(text, at) {
      if (stopped) return;
      template = text;
      since = at;
      const now = o.clock.now();
      draw('', now);
      schedule(now);
    },
    write: (text) => (stopped ? void stream.write(text) : draw(text)),
    beside(fn) {
      if (drawn !== '') stream.write(CLEAR);
      drawn = '';
      try {
        return fn();
      } finally {
        draw();
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      timer?.cancel();
      stream.off?.('resize', onResize);
      if (drawn !== '') stream.write(CLEAR);
      drawn = '';
    },
  };
}
