// Folds storms of alike warnings, so that a server failing many times a minute costs a few stderr lines a minute,
// not one per failure, and the user still sees that it goes on. Lines are alike when they differ only in numbers
// ("attempt 7; next try in 8 s"). Time comes from the clock handed in; no timer outlives flush().

import type { Clock, TimerHandle } from '../base/clock.js';
import type { Logger } from './logger.js';

/** How long one fold lasts, and how many alike lines of a fold are printed as they come. */
export const FOLD_WINDOW_MS = 60_000;
export const FOLD_AFTER = 3;
/** Kinds of line followed at once; more is no storm but a run of different news, and the oldest fold is closed. */
const MAX_KINDS = 64;

export interface RepeatFolder {
  /** Prints the line, or holds it back as one more like those already printed. */
  offer(line: string): void;
  /** Prints what is held back, each kind as one summary line, and cancels every timer (at the end of a run). */
  flush(): void;
}

interface Fold {
  start: number;
  printed: number;
  held: number;
  latest: string;
  timer?: TimerHandle;
}

/** What alike lines share: the text with every number replaced. */
export function kindOf(line: string): string {
  return line.replace(/\d+(?:\.\d+)?/g, '#');
}

/**
 * Within FOLD_WINDOW_MS of the first of a kind, the first FOLD_AFTER lines are printed as they come; the rest are
 * counted, and when the window closes the latest of them is printed with how many it stands for. A storm that goes
 * on is then summarised once a window; a kind not seen for a window starts afresh.
 */
export function createRepeatFolder(o: { clock: Pick<Clock, 'now' | 'setTimer'>; print(line: string): void; windowMs?: number; after?: number }): RepeatFolder {
  const windowMs = o.windowMs ?? FOLD_WINDOW_MS;
  const after = o.after ?? FOLD_AFTER;
  const folds = new Map<string, Fold>();

  function summarise(f: Fold, now: number): void {
    f.timer?.cancel();
    f.timer = undefined;
    if (f.held === 0) return;
    const more = f.held - 1;
    o.print(more === 0 ? f.latest : `${f.latest} (${more} more like this in the last ${span(now - f.start)})`);
    f.held = 0;
  }

  function closeWindow(kind: string, f: Fold): void {
    const now = o.clock.now();
    const stormed = f.held > 0;
    summarise(f, now);
    // Still storming: the next window folds from its first line; one summary a window is all the storm gets.
    if (stormed) folds.set(kind, { start: now, printed: after, held: 0, latest: '' });
    else folds.delete(kind);
  }

  function makeRoom(): void {
    if (folds.size < MAX_KINDS) return;
    const [kind, oldest] = [...folds.entries()].reduce((a, b) => (b[1].start < a[1].start ? b : a));
    summarise(oldest, o.clock.now());
    folds.delete(kind);
  }

  return {
    offer(line) {
      const kind = kindOf(line);
      const now = o.clock.now();
      let f = folds.get(kind);
      if (f && f.held === 0 && now - f.start >= windowMs) {
        folds.delete(kind);
        f = undefined;
      }
      if (!f) {
        makeRoom();
        folds.set(kind, { start: now, printed: 1, held: 0, latest: '' });
        return o.print(line);
      }
      if (f.printed < after) {
        f.printed += 1;
        return o.print(line);
      }
      f.held += 1;
      f.latest = line;
      const fold = f;
      fold.timer ??= o.clock.setTimer(Math.max(0, fold.start + windowMs - now), () => closeWindow(kind, fold));
    },
    flush() {
      const now = o.clock.now();
      for (const f of folds.values()) summarise(f, now);
      folds.clear();
    },
  };
}

/** The logger with its warnings folded; flush() before the run ends prints what is held back. */
export function foldWarnings(logger: Logger, clock: Pick<Clock, 'now' | 'setTimer'>): Logger & { flush(): void } {
  const folder = createRepeatFolder({ clock, print: (line) => logger.warn(line) });
  return {
    get verbosity() {
      return logger.verbosity;
    },
    addSecret: (secret, kind) => logger.addSecret(secret, kind),
    debug: (line) => logger.debug(line),
    info: (line) => logger.info(line),
    warn: (line) => {
      // Quiet (-q) prints no warning: nothing to fold.
      if (logger.verbosity >= 0) folder.offer(line);
    },
    error: (line) => logger.error(line),
    redact: (text) => logger.redact(text),
    flush: () => folder.flush(),
  };
}

function span(ms: number): string {
  if (ms >= 55_000 && ms < 90_000) return 'minute';
  if (ms < 90_000) return `${Math.max(1, Math.round(ms / 1000))} s`;
  return `${Math.round(ms / 60_000)} min`;
}
