// Once, not twice (src/catchup/dedup.ts): the pure verdicts as tables, then the same rule end to end as scenarios
// played through createCatchUp over an in-memory store and ledger, a scripted server and a fake clock.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCatchUp, LEARN_DELAY_MS } from '../../src/catchup/catchup.js';
import { judgeSyncChange, repeatsCatchUp, type PrintedSoFar, type Verdict } from '../../src/catchup/dedup.js';
import { createLedger, type Origin } from '../../src/catchup/ledger.js';
import type { ItemResult } from '../../src/ews/items.js';
import type { ItemChange, SyncItemsPage } from '../../src/ews/sync.js';
import type { EwsEvent } from '../../src/ews/types.js';
import type { WatchedEvent } from '../../src/base/event.js';
import { createMemoryStateStore } from '../../src/state/memory.js';
import { createFakeClock } from '../support/fake-clock.js';
import type { SyncClient } from '../../src/ews/client.js';

describe('judgeSyncChange: a change a sync page reports', () => {
  const change = (kind: ItemChange['kind'], changeKey?: string): ItemChange => ({ kind, itemId: 'A', ...(changeKey ? { changeKey } : {}) });
  /** The page was asked for at mark 10; entries registered before that have n < 10. */
  const known = (printed: boolean, latest?: { n: number; changeKey?: string }): PrintedSoFar => ({ printed, pageAskedAt: 10, ...(latest ? { latest } : {}) });
  const modified = (changeKey: string): Verdict => ({ kind: 'print', change: { kind: 'update', itemId: 'A', changeKey } });
  const already: Verdict = { kind: 'printed-already' };

  const rows: [string, ItemChange, PrintedSoFar, Verdict][] = [
    ['nobody printed it: printed as reported', change('create', 'ck1'), known(false), { kind: 'print', change: change('create', 'ck1') }],
    ['nobody printed it, a read-flag change: as reported', change('readflag'), known(false), { kind: 'print', change: change('readflag') }],
    ['streamed with a placeholder (no ChangeKey kept): nothing, and the sync\'s ChangeKey is learnt', change('create', 'ck1'), known(true, { n: 3 }), { kind: 'printed-already', learn: 'ck1' }],
    ['printed with the ChangeKey the sync reports: nothing', change('create', 'ck1'), known(true, { n: 3, changeKey: 'ck1' }), already],
    ['printed with ck1, the sync reports ck2: changed since, one Modified', change('create', 'ck2'), known(true, { n: 3, changeKey: 'ck1' }), modified('ck2')],
    ['the same for an update the sync reports', change('update', 'ck2'), known(true, { n: 3, changeKey: 'ck1' }), modified('ck2')],
    ['a sync change without a ChangeKey (ReadFlagChange) is no evidence', change('readflag'), known(true, { n: 3, changeKey: 'ck1' }), already],
    ['a printed delete is never printed again', change('delete'), known(true, { n: 3, changeKey: 'ck1' }), already],
    ['registered while the page was on its way, ChangeKey known: not compared', change('create', 'ck2'), known(true, { n: 10, changeKey: 'ck1' }), already],
    ['registered while the page was on its way, no ChangeKey: nothing learnt', change('create', 'ck2'), known(true, { n: 12 }), already],
    ['printed key, but no create or modify of the item left to compare with: nothing', change('update', 'ck2'), known(true), already],
  ];
  for (const [name, c, k, want] of rows) {
    it(name, () => assert.deepEqual(judgeSyncChange(c, k), want));
  }
});

describe('repeatsCatchUp: is a stream event the late notification of what a catch-up printed?', () => {
  const rows: [string, (Origin | undefined)[], boolean][] = [
    ['no keys (a folder event)', [], false],
    ['nobody printed it', [undefined], false],
    ['a catch-up printed it', ['catch-up'], true],
    ['the stream printed it (its own events are never held back)', ['stream'], false],
    ['a Moved whose other half is in a folder nobody watches', ['catch-up', undefined], true],
    ['a Moved of which the stream printed one half', ['catch-up', 'stream'], false],
  ];
  for (const [name, origins, want] of rows) {
    it(name, () => assert.equal(repeatsCatchUp(origins), want));
  }
});

/**
 * One step of a scenario. The mailbox holds each item's ChangeKey now (`A-1`, then `A-2` after an edit); a sync
 * and a GetItem report it as it is when they are asked.
 */
type Step =
  /** The stream prints an event; its notification's ChangeKey is a placeholder, left out. details: --details read the ChangeKey. */
  | { stream: EwsEvent['type']; id: string; details?: true }
  /** The item changes; nothing tells the watcher. */
  | { edit: string }
  /** The item is deleted; nothing tells the watcher. */
  | { remove: string }
  /** Time passes (the ChangeKey lookup of streamed items is due LEARN_DELAY_MS after their lines). */
  | { wait: number }
  /** A gap's pass; the server reports these changes since the saved state. */
  | { gap: [ItemChange['kind'], string][] };

async function play(steps: readonly Step[]): Promise<string[]> {
  const clock = createFakeClock();
  const mailbox = new Map<string, number>();
  const changeKeyOf = (id: string): string => `${id}-${mailbox.get(id) ?? 1}`;
  const pages: SyncItemsPage[] = [];
  const sync: SyncClient = {
    syncFolderItems: async () => pages.shift() ?? assert.fail('no page scripted'),
    lookUpItems: async (ids) =>
      ids.map((id): ItemResult => (mailbox.has(id) ? { ok: true, itemId: id, details: { changeKey: changeKeyOf(id) } } : { ok: false, itemId: id, responseCode: 'ErrorItemNotFound', message: 'gone' })),
  };
  const store = createMemoryStateStore();
  await store.save('inbox', 'S0');
  const c = createCatchUp({
    sync,
    store,
    ledger: createLedger(),
    folders: [{ key: 'inbox', ref: { kind: 'distinguished', name: 'inbox' }, name: 'inbox' }],
    distinguishedNameOf: (id) => (id === 'INBOX-ID' ? 'inbox' : undefined),
    mailbox: 'alice@contoso.com',
    backfill: false,
    clock,
    quietMs: 0,
    pageSize: 100,
    warn: (l) => assert.fail(`unexpected warning: ${l}`),
    debug: () => undefined,
  });
  const out: string[] = [];
  const emit = (e: WatchedEvent): boolean => (out.push(`catch-up ${e.event.type} ${e.event.target.id}${e.event.target.changeKey ? ` ${e.event.target.changeKey}` : ''}`), true);
  for (const s of steps) {
    if ('stream' in s) {
      const e: WatchedEvent = { event: { type: s.stream, subscriptionId: 'SUB', timestamp: '2026-11-28T10:00:00Z', kind: 'item', target: { id: s.id }, parentFolderId: { id: 'INBOX-ID' } }, mailbox: 'alice@contoso.com', source: 'stream' };
      if (s.stream === 'Deleted') mailbox.delete(s.id);
      else if (!mailbox.has(s.id)) mailbox.set(s.id, 1);
      if (!c.admit(e)) continue;
      out.push(`stream ${s.stream} ${s.id}`);
      c.printed(s.details ? { ...e, details: { changeKey: changeKeyOf(s.id) } } : e, emit);
    } else if ('edit' in s) mailbox.set(s.edit, (mailbox.get(s.edit) ?? 1) + 1);
    else if ('remove' in s) mailbox.delete(s.remove);
    else if ('wait' in s) await clock.advance(s.wait);
    else {
      for (const [kind, id] of s.gap) if (kind === 'create' && !mailbox.has(id)) mailbox.set(id, 1);
      const changes = s.gap.map(([kind, itemId]): ItemChange => ({ kind, itemId, ...(kind === 'create' || kind === 'update' ? { changeKey: changeKeyOf(itemId) } : {}) }));
      pages.push({ syncState: `S${pages.length + 1}`, includesLast: true, changes });
      await c.gap({ reason: 'eof', subscriptionId: 'SUB' }, new AbortController().signal, emit);
    }
  }
  await c.close();
  return out;
}

describe('once, not twice, end to end: what is printed', () => {
  const learnt: Step = { wait: LEARN_DELAY_MS };
  const rows: [string, Step[], string[]][] = [
    ['streamed (placeholder ChangeKey), then synced before any lookup: once, by the stream', [{ stream: 'Created', id: 'A' }, { gap: [['create', 'A']] }], ['stream Created A']],
    ['streamed, its ChangeKey looked up a second later, synced unchanged: once', [{ stream: 'Created', id: 'A' }, learnt, { gap: [['create', 'A']] }], ['stream Created A']],
    [
      'looked up, then changed while the stream was down: the change once, as Modified; its late notification held back; the next change is news',
      [{ stream: 'Created', id: 'A' }, learnt, { edit: 'A' }, { gap: [['create', 'A']] }, { stream: 'Modified', id: 'A' }, { edit: 'A' }, { stream: 'Modified', id: 'A' }],
      ['stream Created A', 'catch-up Modified A A-2', 'stream Modified A'],
    ],
    ['changed before its ChangeKey was learnt: cannot be told from what was printed (README, Limits)', [{ stream: 'Created', id: 'A' }, { edit: 'A' }, learnt, { gap: [['create', 'A']] }], ['stream Created A']],
    ['--details: the ChangeKey printed with the line is the evidence', [{ stream: 'Created', id: 'A', details: true }, { edit: 'A' }, { gap: [['create', 'A']] }], ['stream Created A', 'catch-up Modified A A-2']],
    ['a read-flag change the stream printed as Modified: the sync\'s ReadFlagChange carries no ChangeKey, once', [{ stream: 'Created', id: 'A' }, learnt, { edit: 'A' }, { stream: 'Modified', id: 'A' }, { gap: [['readflag', 'A']] }], ['stream Created A', 'stream Modified A']],
    ['a delete the stream printed', [{ stream: 'Created', id: 'A' }, learnt, { stream: 'Deleted', id: 'A' }, { gap: [['delete', 'A']] }], ['stream Created A', 'stream Deleted A']],
    ['a mail only the sync found: once, by the catch-up; the stream\'s late NewMail and Created are held back', [{ gap: [['create', 'B']] }, { stream: 'NewMail', id: 'B' }, { stream: 'Created', id: 'B' }], ['catch-up Created B B-1']],
    ['streamed, then deleted in the gap (the sync does not mention it): its Deleted, once', [{ stream: 'Created', id: 'A' }, learnt, { remove: 'A' }, { gap: [] }], ['stream Created A', 'catch-up Deleted A']],
  ];
  for (const [name, steps, want] of rows) {
    it(name, async () => assert.deepEqual(await play(steps), want));
  }
});
