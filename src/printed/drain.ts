// The end of the printed path, each step bounded by the clock: events still waiting for lookups are printed (without
// them after DRAIN_MS), hooks still running finish or are given up on, standard output drains.

import type { DetailsSource } from '../enrich/details.js';
import type { EnrichStage } from '../enrich/stage.js';
import type { HookRunner } from '../hooks/index.js';
import type { Clock } from '../base/clock.js';
import type { OutGate, StdoutProgress } from './out-gate.js';

/** How long pending lookups may hold the exit before the events are printed without them. */
export const DRAIN_MS = 5_000;

/** The hooks as the path runs them: finish() waits up to `waitMs` (`waitText` as people read it) for runs still going. */
export interface HooksStep {
  runner: HookRunner;
  waitMs: number;
  waitText: string;
}

export interface DrainParts {
  clock: Clock;
  stage: EnrichStage;
  details?: Pick<DetailsSource, 'close'>;
  hooks?: HooksStep;
  /** Stops listening to the user's stop for the hooks, once they are closed. */
  offStopHooks(): void;
  stdout?: StdoutProgress;
  out: OutGate;
  log: { debug(line: string): void; warn(line: string): void };
}

/** Events still waiting for lookups are printed (bounded), then hooks finish (bounded), then stdout drains (bounded). */
export async function drain(o: DrainParts): Promise<void> {
  const { stage, out } = o;
  if (!(await within(o.clock, DRAIN_MS, stage.idle()))) {
    o.log.debug(`stopping: ${stage.waiting} event(s) still waiting for details are printed without them`);
  }
  // Lookups still running end now; their events are printed with detailsError (or left out by a filter).
  o.details?.close();
  await within(o.clock, 1_000, stage.idle());
  if (o.hooks) {
    // Runs already going keep their own deadline (--hook-timeout, then SIGKILL); after the bound nothing waits.
    if (!(await within(o.clock, o.hooks.waitMs, o.hooks.runner.drain()))) {
      o.log.warn(`not waiting any longer for hook runs still going after ${o.hooks.waitText}`);
    }
    await o.hooks.runner.close();
    o.offStopHooks();
  }
  if (o.stdout) await within(o.clock, DRAIN_MS, o.stdout.flushed());
  out.close();
}

/** Resolves true when `work` settled within `ms` of the clock. */
function within(clock: Clock, ms: number, work: Promise<unknown>): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = clock.setTimer(ms, () => resolve(false));
    void work.then(
      () => (timer.cancel(), resolve(true)),
      () => (timer.cancel(), resolve(true)),
    );
  });
}
