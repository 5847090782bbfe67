// The mailbox ports of a fleet (src/cli/mailbox-ports.ts) with the real pipeline, state stores, ledgers and
// catch-ups, and a fake transport: a thousand mailboxes open in one process within a bounded heap and no timer
// each; each event is printed once with its own mailbox; a closed mailbox's lock is released and its events no
// longer reach its ledger; a mailbox cannot be opened twice.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { WatchedEvent } from '../../src/base/event.js';
import { systemClock, type Clock } from '../../src/base/clock.js';
import type { ItemResult } from '../../src/ews/items.js';
import { createFakeClock } from '../support/fake-clock.js';
import { resolveTuning } from '../../src/cli/command-config.js';
import { resolveWatchSettings } from '../../src/cli/config.js';
import { createMailboxPorts, createMailboxRegistry } from '../../src/cli/mailbox-ports.js';
import { createPipeline } from '../../src/cli/pipeline.js';
import * as details from '../../src/enrich/details.js';
import { createLookup } from '../../src/cli/precedence.js';
import type { EwsEvent } from '../../src/ews/types.js';
import type { FleetTransport, MailboxPort } from '../../src/fleet/types.js';
import { createLogger } from '../../src/term/logger.js';
import { gc, MiB } from '../support/heap.js';

const root = mkdtempSync(join(tmpdir(), 'ews-watch-ports-'));
after(() => rmSync(root, { recursive: true, force: true }));

const client = new Proxy({}, { get: (_t, name) => async () => Promise.reject(new Error(`unexpected ${String(name)}`)) });
const transport: Pick<FleetTransport, 'mailbox'> = { mailbox: () => client as ReturnType<FleetTransport['mailbox']> };

function setUp(stateDir: string, o: { maxEvents?: string; details?: boolean; transport?: Pick<FleetTransport, 'mailbox'>; clock?: Clock } = {}) {
  const printed: WatchedEvent[] = [];
  const logged: string[] = [];
  const settings = resolveWatchSettings({ format: 'ndjson', ...(o.maxEvents ? { maxEvents: o.maxEvents } : {}), ...(o.details ? { details: true } : {}) }, false);
  const logger = createLogger((t) => void logged.push(t), 0);
  const registry = createMailboxRegistry(settings.details);
  const clock = o.clock ?? systemClock;
  const stop = new AbortController();
  const pipeline = createPipeline({
    settings,
    parts: { details },
    client: undefined,
    mailbox: '',
    mailboxes: registry,
    sink: { write: (e) => void printed.push(e) },
    clock,
    logger,
    writeErr: (t) => void logged.push(t),
    hookEnv: {},
    signal: stop.signal,
  });
  const tuning = resolveTuning(createLookup({ env: {}, dotenv: {} }));
  const ports = createMailboxPorts({ transport: o.transport ?? transport, registry, pipeline, settings, logger, clock, stateDir, tuning });
  return { printed, logged, registry, pipeline, ports, stop };
}

const event = (n: number): EwsEvent => ({ type: 'NewMail', subscriptionId: 's', timestamp: '2026-12-02T08:00:00Z', kind: 'item', target: { id: `item-${n}`, changeKey: 'ck' }, parentFolderId: { id: 'inbox' } });
const located = (i: number) => ({ address: `user${i}@contoso.com`, ewsUrl: 'https://mail.contoso.com/EWS/Exchange.asmx' });

describe('mailbox ports', () => {
  it('1,000 mailboxes open within 40 MiB of heap and one exit listener, each with its own locked state directory; closed, every lock is gone', async () => {
    const stateDir = mkdtempSync(join(root, 'many-'));
    const s = setUp(stateDir);
    gc();
    const before = process.memoryUsage().heapUsed;
    const exitListeners = process.listenerCount('exit');
    const open: MailboxPort[] = [];
    for (let i = 0; i < 1000; i++) open.push(await s.ports.open(located(i)));
    // No listener per mailbox on the process (a thousand locks would trip Node's MaxListenersExceededWarning).
    assert.ok(process.listenerCount('exit') <= exitListeners + 1, `${process.listenerCount('exit') - exitListeners} more exit listeners`);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    assert.ok(grown < 40 * MiB, `1,000 ports hold ${(grown / MiB).toFixed(1)} MiB`);
    assert.equal(s.registry.size, 1000);
    assert.equal(readdirSync(stateDir).length, 1000);
    // One event for every tenth mailbox: each printed once, naming its own mailbox.
    for (let i = 0; i < 1000; i += 100) assert.equal(open[i]!.event(event(i)), 'more');
    assert.deepEqual(s.printed.map((e) => [e.mailbox, e.event.target.id]), Array.from({ length: 10 }, (_, k) => [`user${k * 100}@contoso.com`, `item-${k * 100}`]));
    await s.ports.closeAll();
    assert.equal(s.registry.size, 0);
    const locks = readdirSync(stateDir).flatMap((d) => readdirSync(join(stateDir, d)).filter((f) => f.includes('lock')));
    assert.deepEqual(locks, []);
    assert.equal(await s.pipeline.finish(), 0);
  });

  it("every port hands on the printed path's one ready() itself, so that a group of 200 asks it once per chunk", async () => {
    const s = setUp(mkdtempSync(join(root, 'ready-')));
    const a = await s.ports.open(located(1));
    const b = await s.ports.open(located(2));
    assert.equal(typeof a.ready, 'function');
    assert.equal(a.ready, b.ready);
    assert.equal(a.ready?.(), undefined, 'nothing is behind');
    await s.ports.closeAll();
    assert.equal(await s.pipeline.finish(), 0);
  });

  it('one --max-events count for all mailboxes: the second event, from another mailbox, says enough', async () => {
    const s = setUp(mkdtempSync(join(root, 'max-')), { maxEvents: '2' });
    const a = await s.ports.open(located(1));
    const b = await s.ports.open(located(2));
    assert.equal(a.event(event(1)), 'more');
    assert.equal(b.event(event(2)), 'enough');
    assert.equal(s.pipeline.signal.aborted, true);
    await s.ports.closeAll();
    assert.equal(await s.pipeline.finish(), 0);
    assert.equal(s.printed.length, 2);
  });

  it('--details: each event is detailed by GetItem as its own mailbox (the same item id in two mailboxes, two answers)', async () => {
    const asked: string[] = [];
    const perMailbox: Pick<FleetTransport, 'mailbox'> = {
      mailbox: (address) =>
        new Proxy(
          {
            getItems: async (ids: readonly string[]): Promise<ItemResult[]> => (asked.push(`${address}: ${ids.join(',')}`), ids.map((itemId) => ({ ok: true, itemId, details: { subject: `for ${address}` } }))),
          },
          { get: (t, name) => (t as Record<string, unknown>)[name as string] ?? (async () => Promise.reject(new Error(`unexpected ${String(name)}`))) },
        ) as ReturnType<FleetTransport['mailbox']>,
    };
    const clock = createFakeClock();
    const s = setUp(mkdtempSync(join(root, 'details-')), { details: true, transport: perMailbox, clock });
    const a = await s.ports.open(located(1));
    const b = await s.ports.open(located(2));
    a.event(event(9));
    b.event(event(9));
    await clock.advance(2_000);
    for (let i = 0; i < 100 && s.printed.length < 2; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(s.printed.map((e) => [e.mailbox, e.details?.subject]), [['user1@contoso.com', 'for user1@contoso.com'], ['user2@contoso.com', 'for user2@contoso.com']]);
    assert.deepEqual(asked.sort(), ['user1@contoso.com: item-9', 'user2@contoso.com: item-9']);
    await s.ports.closeAll();
    s.stop.abort();
    const finished = s.pipeline.finish();
    await clock.advance(10_000);
    assert.equal(await finished, 0);
  });

  it('a mailbox already open is refused (its state is locked by this very process); after close it opens again', async () => {
    const s = setUp(mkdtempSync(join(root, 'twice-')));
    const a = await s.ports.open(located(7));
    await assert.rejects(s.ports.open({ ...located(7), address: 'USER7@contoso.com' }), /USER7@contoso.com is watched already/);
    await a.close();
    await a.close();
    const again = await s.ports.open(located(7));
    await again.close();
    await s.pipeline.finish();
  });

  it('a closed mailbox\'s event still on its way is printed, and its closed ledger is not written', async () => {
    const stateDir = mkdtempSync(join(root, 'closed-'));
    const s = setUp(stateDir);
    const a = await s.ports.open(located(3));
    a.event(event(3));
    await a.close();
    assert.equal(await s.pipeline.finish(), 0);
    assert.equal(s.printed.length, 1);
    assert.ok(existsSync(join(stateDir, readdirSync(stateDir)[0]!)));
    assert.deepEqual(s.logged.filter((l) => /error|closed/i.test(l)), []);
  });
});
