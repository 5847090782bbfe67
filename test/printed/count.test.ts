// The one count of printed events: when --max-events says enough, and what --timeout calls enough.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPrintedCount } from '../../src/printed/count.js';

test('count: enough exactly at --max-events; satisfied at --max-events, or at the first event without it', () => {
  const cases = [
    { maxEvents: 1, verdicts: ['enough'], satisfied: [false, true] },
    { maxEvents: 3, verdicts: ['more', 'more', 'enough'], satisfied: [false, false, false, true] },
    { maxEvents: undefined, verdicts: ['more', 'more', 'more'], satisfied: [false, true, true, true] },
  ];
  for (const c of cases) {
    const count = createPrintedCount({ ...(c.maxEvents !== undefined ? { maxEvents: c.maxEvents } : {}) });
    const satisfied = [count.satisfied];
    const verdicts = c.verdicts.map(() => {
      const v = count.add();
      satisfied.push(count.satisfied);
      return v;
    });
    assert.deepEqual({ verdicts, satisfied, printed: count.printed }, { verdicts: c.verdicts, satisfied: c.satisfied, printed: c.verdicts.length }, `--max-events ${c.maxEvents}`);
  }
});
