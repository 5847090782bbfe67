// WriteHealth (src/state/health.ts): one warning per episode of failed writes, one line when every write went
// through again, and no end of the episode while a write that began during it is still in flight.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createWriteHealth } from '../../src/state/health.js';

const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
const eio = Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });

function recorded() {
  const lines: string[] = [];
  const health = createWriteHealth({ dir: '/state', warn: (l) => lines.push(`warning: ${l}`), info: (l) => lines.push(`info: ${l}`) });
  return { lines, health };
}
const warned = (reason: string): string => `warning: cannot write the sync state in /state: ${reason}; events keep printing, the state catches up when it can`;
const AGAIN = 'info: the sync state in /state is written again';

describe('write health', () => {
  it('folds failures of the same reason into one warning, says a new reason once, and ends when every source recovered', () => {
    const { lines, health } = recorded();
    health.failed('ledger', enospc);
    health.failed('state:inbox', enospc);
    health.failed('ledger', eio);
    health.failed('ledger', eio);
    health.recovered('ledger');
    assert.equal(health.failing, true);
    health.recovered('state:inbox');
    assert.equal(health.failing, false);
    assert.deepEqual(lines, [warned('no space left on device'), warned('input/output error'), AGAIN]);
    // A new episode warns again.
    health.failed('ledger', enospc);
    assert.deepEqual(lines.slice(3), [warned('no space left on device')]);
  });

  it('a write in flight holds the end of the episode until it ends; a write that was not failing recovers nothing', () => {
    const { lines, health } = recorded();
    health.recovered('ledger');
    assert.deepEqual(lines, [], 'no episode, nothing to say');
    health.failed('ledger', enospc);
    const done = health.writing();
    health.recovered('ledger');
    assert.deepEqual(lines, [warned('no space left on device')]);
    health.recovered('state:inbox');
    done();
    done(); // ending twice counts once
    assert.deepEqual(lines, [warned('no space left on device'), AGAIN]);
    const other = health.writing();
    const again = health.writing();
    health.failed('ledger', enospc);
    health.recovered('ledger');
    other();
    assert.equal(lines.length, 3, 'one write still in flight');
    again();
    assert.deepEqual(lines.slice(2), [warned('no space left on device'), AGAIN]);
  });
});
