// The enrichment stage: order kept while lookups run, one GetItem per burst, failures printed with detailsError,
// filters, --max-events through print(), and whenSettled() for the catch-up ledger.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDetailsSource } from '../../src/enrich/details.js';
import { createEventFilter, parsePattern } from '../../src/enrich/filter.js';
import { createFolderNames } from '../../src/enrich/folders.js';
import { createEnrichStage, StageStopped, type EnrichStageOptions } from '../../src/enrich/stage.js';
import type { WatchedEvent } from '../../src/base/event.js';
import { createFakeClock } from '../support/fake-clock.js';
import { fakeClient, folderEvent, itemEvent, mail } from './helpers.js';

function setup(o: { max?: number; filter?: EnrichStageOptions['filter']; details?: boolean; allFolders?: boolean } = {}) {
  const clock = createFakeClock();
  const client = fakeClient();
  const printed: WatchedEvent[] = [];
  const errors: unknown[] = [];
  const details = o.details === false ? undefined : createDetailsSource({ client, clock });
  const folders = o.allFolders ? createFolderNames({ client, clock, distinguished: ['inbox'], displayNames: true, debug: () => undefined }) : undefined;
  const stage = createEnrichStage({
    ...(details ? { details: (id: string) => details.get(id) } : {}),
    ...(folders ? { folders } : {}),
    ...(o.filter ? { filter: o.filter } : {}),
    print: (e) => {
      printed.push(e);
      return o.max === undefined || printed.length < o.max;
    },
    onError: (e) => errors.push(e),
  });
  return { clock, client, printed, errors, stage, folders };
}

const summary = (e: WatchedEvent): string => `${e.event.type} ${e.event.target.id} ${e.details?.subject ?? e.detailsError ?? '-'}`;

describe('enrichment stage', () => {
  it('the three events of a new mail share one GetItem and keep their order; a folder event waits behind them', async () => {
    const { clock, client, printed, stage } = setup();
    client.items.set('m1', mail('Quarterly report', 'Megan Bowen', 'megan@contoso.com'));
    stage.write(itemEvent('Created', 'm1'));
    stage.write(itemEvent('NewMail', 'm1'));
    stage.write(folderEvent('INBOX'));
    assert.equal(printed.length, 0, 'nothing printed before the details arrived, not even the folder event');
    await clock.runUntil(stage.idle());
    assert.deepEqual(client.itemCalls, [['m1']]);
    assert.deepEqual(printed.map(summary), ['Created m1 Quarterly report', 'NewMail m1 Quarterly report', 'Modified INBOX -']);
    assert.deepEqual(printed[0]?.details?.from, { name: 'Megan Bowen', address: 'megan@contoso.com' });
  });

  it('an item gone before its lookup is printed anyway, with detailsError; Deleted events are not looked up', async () => {
    const { clock, client, printed, stage } = setup();
    stage.write(itemEvent('NewMail', 'gone'));
    stage.write(itemEvent('Deleted', 'gone'));
    await clock.runUntil(stage.idle());
    assert.deepEqual(client.itemCalls, [['gone']]);
    assert.deepEqual(printed.map(summary), ['NewMail gone ErrorItemNotFound', 'Deleted gone -']);
  });

  it('a later event whose lookup finishes first still waits for the one before it', async () => {
    const { clock, client, printed, stage } = setup();
    client.items.set('a', mail('A', 'n', 'a@x'));
    client.items.set('b', mail('B', 'n', 'b@x'));
    client.hold = true;
    stage.write(itemEvent('NewMail', 'a'));
    await clock.advance(1000);
    client.hold = false;
    stage.write(itemEvent('NewMail', 'b'));
    await clock.advance(1000);
    assert.deepEqual(client.itemCalls, [['a'], ['b']]);
    assert.equal(printed.length, 0, 'b is ready but a is not');
    client.release();
    await clock.runUntil(stage.idle());
    assert.deepEqual(printed.map(summary), ['NewMail a A', 'NewMail b B']);
  });

  it('filters: only matching events are printed, and only those count towards --max-events', async () => {
    const filter = createEventFilter([parsePattern('--from', 'bank')], []);
    const { clock, client, printed, stage } = setup({ max: 1, ...(filter ? { filter } : {}) });
    client.items.set('spam', mail('Hi', 'Adele', 'adele@contoso.com'));
    client.items.set('code', mail('Code 123', 'Bank', 'noreply@bank.com'));
    client.items.set('later', mail('Code 456', 'Bank', 'noreply@bank.com'));
    const settled: string[] = [];
    for (const id of ['spam', 'code', 'later']) {
      const e = itemEvent('NewMail', id);
      stage.write(e);
      // Told the event as it went out: with its details (the catch-up records GetItem's ChangeKey from them).
      stage.whenSettled(e, (out) => settled.push(`${id} ${out.details?.subject ?? '-'}`));
    }
    await clock.runUntil(stage.idle());
    assert.deepEqual(printed.map(summary), ['NewMail code Code 123']);
    assert.equal(stage.stopped, true);
    // The filtered-out event counts as handled; the one dropped when the limit was reached does not.
    assert.deepEqual(settled, ['spam Hi', 'code Code 123']);
    // Thrown: the printed path asks `stopped` first, so a write after the stop is a bug, never taken silently.
    assert.throws(() => stage.write(itemEvent('NewMail', 'after')), StageStopped);
    assert.equal(stage.waiting, 0, 'a stopped stage takes nothing more');
  });

  it('without lookups an event is printed inside write(), and whenSettled() runs at once', () => {
    const { printed, stage } = setup({ details: false });
    const e = itemEvent('Deleted', 'x');
    stage.write(e);
    assert.equal(printed.length, 1);
    let ran = false;
    stage.whenSettled(e, () => (ran = true));
    assert.equal(ran, true);
  });

  it('a throwing output stops the stage and is reported once', async () => {
    const clock = createFakeClock();
    const errors: unknown[] = [];
    const stage = createEnrichStage({
      print: () => {
        throw new Error('EPIPE');
      },
      onError: (e) => errors.push(e),
    });
    stage.write(itemEvent('Deleted', 'x'));
    assert.throws(() => stage.write(itemEvent('Deleted', 'y')), StageStopped);
    await clock.flush();
    assert.equal(errors.length, 1);
    assert.equal(stage.stopped, true);
  });

  it('--all-folders: an unknown parent is named by its display name, looked up once and cached', async () => {
    const { clock, client, printed, stage } = setup({ details: false, allFolders: true });
    client.folders.set('PROJ', { displayName: 'Projekte' });
    stage.write(itemEvent('Created', 'a', {}, 'PROJ'));
    stage.write(itemEvent('Created', 'b', {}, 'PROJ'));
    await clock.runUntil(stage.idle());
    stage.write(itemEvent('Created', 'c', {}, 'PROJ'));
    assert.deepEqual(printed.map((e) => e.folder), ['Projekte', 'Projekte', 'Projekte']);
    assert.equal(client.folderCalls.length, 1);
    // A folder event about PROJ (a rename) forgets the name; the next item event looks it up again.
    client.folders.set('PROJ', { displayName: 'Projects' });
    stage.write(folderEvent('PROJ', 'ROOT'));
    stage.write(itemEvent('Created', 'd', {}, 'PROJ'));
    await clock.runUntil(stage.idle());
    assert.equal(printed.at(-1)?.folder, 'Projects');
  });

  it('--all-folders: a Moved item gets both names, the old parent looked up too, in one GetFolder', async () => {
    const { clock, client, printed, stage } = setup({ details: false, allFolders: true });
    client.folders.set('PROJ', { displayName: 'Projekte' });
    client.folders.set('ARCH', { displayName: 'Archive' });
    const moved = itemEvent('Moved', 'n', {}, 'ARCH');
    stage.write({ ...moved, event: { ...moved.event, oldTarget: { id: 'o' }, oldParentFolderId: { id: 'PROJ' } } });
    await clock.runUntil(stage.idle());
    assert.deepEqual(printed.map((e) => [e.folder, e.oldFolder]), [['Archive', 'Projekte']]);
    assert.equal(client.folderCalls.length, 1);
  });

  it('no event skips its lookup for load: above the high mark ready() holds the stream until the backlog is down to the low mark', async () => {
    const clock = createFakeClock();
    const client = fakeClient();
    client.hold = true;
    const details = createDetailsSource({ client, clock });
    const printed: WatchedEvent[] = [];
    const stage = createEnrichStage({ details: (id) => details.get(id), print: (e) => (printed.push(e), true), onError: () => undefined, marks: { high: 3, low: 1 } });
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (const id of ids) client.items.set(id, mail(`subject ${id}`, 'Megan Bowen', 'megan@contoso.com'));
    const readiness: Array<'ready' | 'behind'> = [];
    for (const id of ids) {
      stage.write(itemEvent('NewMail', id));
      readiness.push(stage.ready() === undefined ? 'ready' : 'behind');
    }
    assert.deepEqual(readiness, ['ready', 'ready', 'ready', 'behind', 'behind', 'behind']);
    let resumed = false;
    void stage.ready()?.then(() => (resumed = true));
    await clock.advance(1000);
    assert.equal(resumed, false, 'still six waiting');
    client.release();
    await clock.runUntil(stage.idle());
    assert.equal(resumed, true);
    assert.equal(stage.ready(), undefined);
    assert.deepEqual(printed.map(summary), ids.map((id) => `NewMail ${id} subject ${id}`), 'every event has its details');
  });

  it('a stage that stops lets whoever waits for ready() go on', async () => {
    const clock = createFakeClock();
    const client = fakeClient();
    client.hold = true;
    const details = createDetailsSource({ client, clock });
    const stage = createEnrichStage({ details: (id) => details.get(id), print: () => false, onError: () => undefined, marks: { high: 1, low: 0 } });
    for (const id of ['a', 'b']) stage.write(itemEvent('NewMail', id));
    const wait = stage.ready();
    assert.ok(wait);
    let resumed = false;
    void wait.then(() => (resumed = true));
    await clock.advance(1000);
    client.release();
    await clock.runUntil(stage.idle());
    assert.equal(stage.stopped, true);
    assert.equal(resumed, true);
    assert.equal(stage.ready(), undefined);
  });
});
