// When the quiet-period pass runs: a silent sync a while after the last streamed event, so the saved state follows
// the stream and a restart reports only the real gap. Owns the timer, not what the pass does.

import type { Clock, TimerHandle } from '../base/clock.js';

/** The longest a busy stream can push the quiet-period pass back. */
export const QUIET_MAX_WAIT_MS = 5 * 60_000;

export interface QuietPeriodOptions {
  clock: Clock;
  /** How long after the last streamed event the pass runs (0: never). */
  quietMs: number;
  /** The ledger is past half full: only a pass empties it, so the stream no longer pushes the pass back. */
  pressed(): boolean;
  debug(line: string): void;
  /** Aborted when the catch-up closes: a pass that fails then is not worth a line. */
  closing: AbortSignal;
}

export interface QuietPeriod {
  /** A streamed event: `pass` runs after the next quiet period (replacing the pass armed before). */
  arm(pass: () => Promise<void>): void;
  /** A gap's pass runs now instead, or the catch-up closes. */
  cancel(): void;
}

/**
 * Each streamed event pushes the pass back, but never more than QUIET_MAX_WAIT_MS after the first event not yet
 * covered by a saved state, so a mailbox that is never quiet still gets its saved state moved forward; nor at all
 * once the ledger is pressed, unless a pass failed within QUIET_MAX_WAIT_MS (then a full ledger does not hurry it).
 */
export function createQuietPeriod(o: QuietPeriodOptions): QuietPeriod {
  let timer: TimerHandle | undefined;
  /** When the armed pass is due, and which: a burst moves these, not the timer (no timer per event). */
  let due = 0;
  let armed: (() => Promise<void>) | undefined;
  /** When the first streamed event not yet covered by a saved state arrived. */
  let unsyncedSince = 0;
  let lastFailedPass = -Infinity;

  function run(pass: () => Promise<void>): void {
    pass().then(
      () => o.debug('catch-up: quiet-period sync done; saved state is current'),
      (err: unknown) => {
        // The next gap or quiet period tries again; a failure here loses nothing.
        lastFailedPass = o.clock.now();
        if (!o.closing.aborted) o.debug(`catch-up: quiet-period sync failed: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  }

  /** The timer fired: the pass runs if it is due, else the timer waits for what is left (it was pushed back). */
  function fire(): void {
    const left = due - o.clock.now();
    if (left > 0) {
      timer = o.clock.setTimer(left, fire);
      return;
    }
    const pass = armed as () => Promise<void>;
    timer = undefined;
    armed = undefined;
    run(pass);
  }

  return {
    arm(pass) {
      if (o.quietMs <= 0) return;
      const now = o.clock.now();
      const hurry = o.pressed() && now - lastFailedPass >= QUIET_MAX_WAIT_MS;
      if (timer && (hurry || now - unsyncedSince >= QUIET_MAX_WAIT_MS)) return;
      armed = pass;
      due = now + o.quietMs;
      if (timer) return;
      unsyncedSince = now;
      timer = o.clock.setTimer(o.quietMs, fire);
    },
    cancel() {
      timer?.cancel();
      timer = undefined;
      armed = undefined;
    },
  };
}
