// The parts of the printed path that only some settings use (--exec's hook runner, --details' lookups) are loaded by
// loadPipelineParts, before createPipeline: what each setting loads, and that building without them is refused
// instead of silently leaving a hook or a lookup out.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/base/clock.js';
import { resolveWatchSettings } from '../../src/cli/config.js';
import { createDetails, createPipeline, loadPipelineParts } from '../../src/cli/pipeline.js';
import type { EnrichClient } from '../../src/ews/client.js';
import { createLogger } from '../../src/term/logger.js';

const logger = createLogger(() => undefined, 0);
const plain = resolveWatchSettings({ format: 'ndjson' }, false);
const withHook = { ...plain, hooks: [{ argv: ['true'] as [string, ...string[]] }] };
const client = {} as EnrichClient;

describe('pipeline parts', () => {
  it('a plain watch loads neither part; --exec loads the hook runner, --details the lookups', async () => {
    assert.deepEqual(Object.keys(await loadPipelineParts(plain)), []);
    assert.deepEqual(Object.keys(await loadPipelineParts(withHook)), ['hooks']);
    const both = await loadPipelineParts({ ...withHook, details: true });
    assert.deepEqual(Object.keys(both).sort(), ['details', 'hooks']);
    assert.equal(typeof both.hooks?.createHookRunner, 'function');
    assert.equal(typeof both.details?.createDetailsSource, 'function');
  });

  it('--exec or --details without their part is refused, not built without them', () => {
    const stop = new AbortController();
    const common = { client: undefined, mailbox: '', sink: { write: () => undefined }, clock: systemClock, logger, writeErr: () => undefined, hookEnv: {}, signal: stop.signal };
    assert.throws(() => createPipeline({ ...common, settings: withHook, parts: {} }), /--exec without loadPipelineParts/);
    assert.throws(() => createDetails({ clock: systemClock, logger, parts: {} }, client), /--details without loadPipelineParts/);
  });
});
