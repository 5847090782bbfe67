// The one count of printed events: --max-events ends the watch when it is reached, and --timeout fails (exit 124)
// when time ran out before enough were printed. Pure: the printed path (path.ts) calls add() once per printed line.

import type { Verdict } from '../watch/engine.js';

export interface PrintedCount {
  /** One more event was printed; 'enough' once --max-events of them were. */
  add(): Verdict;
  /** Events printed so far. */
  readonly printed: number;
  /** What --timeout asks for: --max-events events printed, or at least one without it. */
  readonly satisfied: boolean;
}

export function createPrintedCount(o: { maxEvents?: number }): PrintedCount {
  let printed = 0;
  return {
    add() {
      printed += 1;
      return o.maxEvents !== undefined && printed >= o.maxEvents ? 'enough' : 'more';
    },
    get printed() {
      return printed;
    },
    get satisfied() {
      return o.maxEvents !== undefined ? printed >= o.maxEvents : printed > 0;
    },
  };
}
