// SyncFolderItems and SyncFolderHierarchy served from the simulated mailbox, over real HTTP with hand-written
// requests: full and incremental syncs with Exchange's net-change coalescing, paging and resumable states,
// ErrorInvalidSyncStateData / ErrorSyncFolderNotFound / throttling, agreement with the stream, and a seeded
// property test (items at state S + changes since S = items now).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { gseBody, post, rawPost, subscribe } from './helpers.js';
import { call, kinds, prng, syncAll, syncHierarchyBody, syncItems, syncItemsBody, type Answer } from './mailbox-requests.js';

async function withSim(run: (sim: Simulator) => Promise<void>): Promise<void> {
  const sim = await startSimulator({ heartbeatMs: 60_000 });
  try {
    await run(sim);
  } finally {
    await sim.close();
  }
}

const ok = (a: Answer): Answer => {
  assert.equal(a.status, 200, a.body.slice(0, 600));
  assert.deepEqual(a.messages.map((m) => [m.responseClass, m.code]), [['Success', 'NoError']], a.body.slice(0, 600));
  return a;
};
const entries = (a: Answer) => a.messages[0]!.entries;
const deliver = (sim: Simulator, subject: string) => sim.deliverMail({ subject }).item!;

describe('SyncFolderItems', () => {
  test('full sync: every item as Create with a bare ItemId (IdOnly), newest first; an empty folder has no changes', () =>
    withSim(async (sim) => {
      const [a, b, c] = ['a', 'b', 'c'].map((s) => deliver(sim, s));
      const full = ok(await syncItems(sim));
      assert.equal(full.last, true);
      assert.deepEqual(kinds(full), [`Create:${c!.id}`, `Create:${b!.id}`, `Create:${a!.id}`]);
      assert.deepEqual(entries(full).map((e) => [e.element, e.changeKey, Object.keys(e.props)]), [c, b, a].map((i) => ['Message', i!.changeKey, ['ItemId']]));
      assert.match(full.syncState!, /^H4sI[A-Za-z0-9+/]+={0,2}$/, 'opaque base64 of gzip data, like Exchange states');
      assert.ok(full.body.includes('<t:Create><t:Message><t:ItemId Id="'));

      const empty = ok(await syncItems(sim, { folder: 'drafts' }));
      assert.deepEqual([empty.last, kinds(empty)], [true, []]);
      assert.ok(empty.body.includes('<m:Changes></m:Changes>'));
      assert.deepEqual(kinds(ok(await syncItems(sim, { state: full.syncState! }))), [], 'nothing changed since');
    }));

  test('incremental sync returns exactly the net changes since the state, oldest change first', () =>
    withSim(async (sim) => {
      const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((s) => deliver(sim, s));
      const inboxState = ok(await syncItems(sim)).syncState!;
      const archiveState = ok(await syncItems(sim, { folder: sim.folder('Archive')!.id })).syncState!;

      sim.markRead(a!.id); // read flag only → ReadFlagChange
      sim.modifyItem(b!.id, { subject: 'b2' });
      const b2 = sim.modifyItem(b!.id, { importance: 'High' }).item!; // updated twice → one Update
      const c2 = sim.moveItem(c!.id, 'Archive').item!; // moved out → Delete here, Create there
      sim.deleteItem(d!.id, { hard: true });
      const e = deliver(sim, 'e');
      const f = deliver(sim, 'f');
      sim.deleteItem(f.id); // created and (soft-)deleted in the gap → nothing
      const g = deliver(sim, 'g');
      const gRead = sim.markRead(g.id).item!; // created then read → one Create

      const fields = ['item:Subject', 'message:IsRead'];
      const inbox = ok(await syncItems(sim, { state: inboxState, fields }));
      assert.equal(inbox.last, true);
      assert.deepEqual(kinds(inbox), [`ReadFlagChange:${a!.id}`, `Update:${b!.id}`, `Delete:${c!.id}`, `Delete:${d!.id}`, `Create:${e.id}`, `Create:${g.id}`]);
      const [read, update, deleted, , , created] = entries(inbox);
      assert.deepEqual([read!.props, read!.changeKey], [{ ItemId: '', IsRead: 'true' }, sim.items('inbox').find((i) => i.id === a!.id)!.changeKey]);
      assert.deepEqual([update!.element, update!.props.Subject, update!.changeKey], ['Message', 'b2', b2.changeKey]);
      assert.deepEqual([deleted!.changeKey, deleted!.props], [c!.changeKey, { ItemId: '' }], 'a bare ItemId with the ChangeKey it had');
      assert.deepEqual([created!.props.Subject, created!.props.IsRead, created!.changeKey], ['g', 'true', gRead.changeKey]);
      assert.ok(inbox.body.includes(`<t:ReadFlagChange><t:ItemId Id="${a!.id}" ChangeKey="${read!.changeKey}"/><t:IsRead>true</t:IsRead></t:ReadFlagChange>`));
      assert.ok(inbox.body.includes(`<t:Delete><t:ItemId Id="${c!.id}" ChangeKey="${c!.changeKey}"/></t:Delete>`));

      assert.deepEqual(kinds(ok(await syncItems(sim, { folder: sim.folder('Archive')!.id, state: archiveState }))), [`Create:${c2.id}`]);
      assert.deepEqual(kinds(ok(await syncItems(sim, { state: inbox.syncState! }))), [], 'the new state holds everything');
    }));

  test('paging: MaxChangesReturned=2 over 5 changes gives 2+2+1; every page state resumes exactly after its page', () =>
    withSim(async (sim) => {
      const start = ok(await syncItems(sim)).syncState!;
      const items = ['1', '2', '3', '4', '5'].map((s) => deliver(sim, s));
      const pages = await syncAll(sim, { state: start, max: 2 });
      assert.deepEqual(pages.map((p) => [kinds(p).length, p.last]), [[2, false], [2, false], [1, true]]);
      assert.deepEqual(pages.flatMap(kinds), items.map((i) => `Create:${i.id}`), 'incremental: oldest change first');
      const again = ok(await syncItems(sim, { state: pages[0]!.syncState!, max: 2 }));
      assert.deepEqual([kinds(again), again.last], [kinds(pages[1]!), false], 'a middle state can be used again');
      assert.deepEqual(kinds(ok(await syncItems(sim, { state: pages[1]!.syncState!, max: 2 }))), kinds(pages[2]!));
      assert.deepEqual(kinds(ok(await syncItems(sim, { state: pages[2]!.syncState!, max: 2 }))), []);
    }));

  test('a paged full sync goes newest to oldest; changes made between its pages come after the backlog, exactly once', () =>
    withSim(async (sim) => {
      const [i1, i2, i3, i4, i5] = ['1', '2', '3', '4', '5'].map((s) => deliver(sim, s));
      const first = ok(await syncItems(sim, { max: 2 }));
      assert.deepEqual([kinds(first), first.last], [[`Create:${i5!.id}`, `Create:${i4!.id}`], false]);
      const i6 = deliver(sim, '6');
      sim.deleteItem(i2!.id, { hard: true }); // not yet enumerated: never reported
      sim.markRead(i4!.id); // already enumerated: reported again as a read-flag change
      const rest = await syncAll(sim, { state: first.syncState!, max: 2 });
      assert.deepEqual(rest.map((p) => [kinds(p), p.last]), [
        [[`Create:${i3!.id}`, `Create:${i1!.id}`], false],
        [[`Create:${i6.id}`, `ReadFlagChange:${i4!.id}`], true],
      ]);
    }));

  test('Ignore: changes to the listed items are not reported, and are not reported later either', () =>
    withSim(async (sim) => {
      const [a, b] = ['a', 'b'].map((s) => deliver(sim, s));
      const state = ok(await syncItems(sim)).syncState!;
      sim.markRead(a!.id);
      sim.modifyItem(b!.id, { subject: 'mine' });
      const c = deliver(sim, 'c');
      const page = ok(await syncItems(sim, { state, ignore: [b!.id, c.id] }));
      assert.deepEqual(kinds(page), [`ReadFlagChange:${a!.id}`]);
      assert.deepEqual(kinds(ok(await syncItems(sim, { state: page.syncState! }))), []);
    }));

  test('a state that is garbage, tampered, or from another folder, operation or simulator: ErrorInvalidSyncStateData', () =>
    withSim(async (sim) => {
      deliver(sim, 'x');
      const inbox = ok(await syncItems(sim)).syncState!;
      const drafts = ok(await syncItems(sim, { folder: 'drafts' })).syncState!;
      const hierarchy = ok(await call(sim, syncHierarchyBody())).syncState!;
      const other = await startSimulator();
      const foreign = ok(await syncItems(other)).syncState!;
      await other.close();
      const tampered = inbox.slice(0, 20) + (inbox[20] === 'A' ? 'B' : 'A') + inbox.slice(21);
      for (const state of ['garbage!!', 'AAAA', tampered, drafts, hierarchy, foreign]) {
        const answer = await syncItems(sim, { state });
        assert.equal(answer.status, 200);
        assert.deepEqual(answer.messages.map((m) => [m.responseClass, m.code]), [['Error', 'ErrorInvalidSyncStateData']], state);
        assert.deepEqual([answer.syncState, answer.last], ['', true]);
        assert.ok(answer.body.includes('<m:SyncState/><m:IncludesLastItemInRange>true</m:IncludesLastItemInRange>'));
      }
    }));

  test('an unknown folder is ErrorSyncFolderNotFound, a malformed id ErrorInvalidIdMalformed', () =>
    withSim(async (sim) => {
      const gone = sim.createFolder('Temp').folder!;
      sim.deleteFolder('Temp');
      for (const [folder, code] of [
        [`AQMk${'A'.repeat(100)}`, 'ErrorSyncFolderNotFound'],
        [gone.id, 'ErrorSyncFolderNotFound'],
        ['not-base64!*'.repeat(5), 'ErrorInvalidIdMalformed'],
      ] as const) {
        const answer = await syncItems(sim, { folder });
        assert.deepEqual(answer.messages.map((m) => [m.responseClass, m.code]), [['Error', code]]);
      }
    }));

  test('MaxChangesReturned outside 1..512 fails schema validation (HTTP 500), as Exchange does', () =>
    withSim(async (sim) => {
      for (const max of [0, 513, 'ten']) {
        const answer = await post(sim, syncItemsBody({ max }));
        assert.equal(answer.status, 500);
        assert.match(answer.body, /a:ErrorSchemaValidation<\/faultcode>/);
        assert.match(answer.body, /MaxSyncChangesReturnedType/);
      }
      assert.equal((await post(sim, syncItemsBody({ max: 512 }))).status, 200);
    }));

  test('scripted answers: ErrorServerBusy with BackOffMilliseconds in the message, a forced ErrorInvalidSyncStateData, a fault', () =>
    withSim(async (sim) => {
      sim.script('SyncFolderItems', { error: 'ErrorServerBusy', backOffMs: 5000 }, { error: 'ErrorInvalidSyncStateData' }, { fault: 'ErrorServerBusy', backOffMs: 299_984 });
      const busy = await syncItems(sim);
      assert.equal(busy.status, 200);
      assert.deepEqual(busy.messages.map((m) => [m.responseClass, m.code, m.backOffMs]), [['Error', 'ErrorServerBusy', 5000]]);
      assert.deepEqual([busy.syncState, busy.last], ['', true]);
      const invalid = await syncItems(sim);
      assert.deepEqual(invalid.messages.map((m) => m.code), ['ErrorInvalidSyncStateData']);
      const fault = await post(sim, syncItemsBody());
      assert.equal(fault.status, 500);
      assert.match(fault.body, /<t:Value Name="BackOffMilliseconds">299984<\/t:Value>/);
      assert.equal(sim.pendingScripts('SyncFolderItems'), 0);
      ok(await syncItems(sim));
    }));
});

describe('SyncFolderHierarchy', () => {
  test('full sync lists the IPM subtree parent first; count changes are no change; create, rename and delete are', () =>
    withSim(async (sim) => {
      const full = ok(await call(sim, syncHierarchyBody({ base: 'Default' })));
      const names = entries(full).map((e) => e.props.DisplayName);
      assert.ok(entries(full).every((e) => e.type === 'Create'));
      for (const name of ['Inbox', 'Archive', 'Projects', 'Calendar']) assert.ok(names.includes(name), name);
      for (const name of ['Root', 'Top of Information Store', 'Recoverable Items']) assert.ok(!names.includes(name), name);
      assert.ok(names.indexOf('Inbox') < names.indexOf('Projects'), 'a parent comes before its child');
      assert.equal(entries(full).find((e) => e.props.DisplayName === 'Calendar')!.element, 'CalendarFolder');
      assert.equal(full.last, true);

      deliver(sim, 'counts only');
      const quiet = ok(await call(sim, syncHierarchyBody({ state: full.syncState! })));
      assert.deepEqual(kinds(quiet), []);

      const created = sim.createFolder('Receipts', 'inbox').folder!;
      const afterCreate = ok(await call(sim, syncHierarchyBody({ state: quiet.syncState!, base: 'AllProperties' })));
      assert.deepEqual(kinds(afterCreate), [`Create:${created.id}`]);
      const props = entries(afterCreate)[0]!.props;
      assert.deepEqual([props.DisplayName, props.ParentFolderId, props.FolderClass, props.TotalCount], ['Receipts', sim.folder('inbox')!.id, 'IPF.Note', '0']);

      const renamed = sim.renameFolder('Receipts', 'Quittungen ✓').folder!;
      const afterRename = ok(await call(sim, syncHierarchyBody({ state: afterCreate.syncState!, base: 'Default' })));
      assert.deepEqual([kinds(afterRename), entries(afterRename)[0]!.props.DisplayName, entries(afterRename)[0]!.changeKey], [[`Update:${created.id}`], 'Quittungen ✓', renamed.changeKey]);

      sim.deleteFolder(created.id);
      const brief = sim.createFolder('Brief');
      sim.deleteFolder('Brief'); // created and deleted in one gap → nothing
      const afterDelete = ok(await call(sim, syncHierarchyBody({ state: afterRename.syncState! })));
      assert.deepEqual(kinds(afterDelete), [`Delete:${created.id}`]);
      assert.notEqual(brief.folder!.id, created.id);
      assert.deepEqual(sim.folderChanges().map((c) => c.kind), ['create', 'update', 'delete', 'create', 'delete']);
    }));

  test('SyncFolderId limits the sync to the folders below it; foreign or garbage states are ErrorInvalidSyncStateData', () =>
    withSim(async (sim) => {
      const sub = sim.createFolder('Receipts', 'inbox').folder!;
      const below = ok(await call(sim, syncHierarchyBody({ folder: 'inbox' })));
      assert.deepEqual(kinds(below).sort(), [`Create:${sim.folder('Projects')!.id}`, `Create:${sub.id}`].sort());
      const items = ok(await syncItems(sim)).syncState!;
      const fromRoot = ok(await call(sim, syncHierarchyBody())).syncState!;
      for (const state of [items, fromRoot, 'zzzz']) {
        const answer = await call(sim, syncHierarchyBody({ folder: 'inbox', state }));
        assert.deepEqual(answer.messages.map((m) => [m.responseClass, m.code]), [['Error', 'ErrorInvalidSyncStateData']]);
        assert.ok(answer.body.includes('<m:SyncState/><m:IncludesLastFolderInRange>true</m:IncludesLastFolderInRange>'));
      }
      sim.script('SyncFolderHierarchy', { error: 'ErrorServerBusy', backOffMs: 1000 });
      assert.deepEqual((await call(sim, syncHierarchyBody())).messages.map((m) => [m.code, m.backOffMs]), [['ErrorServerBusy', 1000]]);
    }));
});

describe('stream and sync agree', () => {
  test('a change made through the mailbox is on the stream and in the next sync, with the same ids; only the sync has the real ChangeKey', () =>
    withSim(async (sim) => {
      const mail = deliver(sim, 'before');
      const itemState = ok(await syncItems(sim)).syncState!;
      const folderState = ok(await call(sim, syncHierarchyBody())).syncState!;
      const { id } = await subscribe(sim, 'all', ['CreatedEvent', 'ModifiedEvent']);
      const stream = rawPost(sim, gseBody([id], 1));
      await stream.until((text) => text.includes('<m:ConnectionStatus>OK'));

      const modified = sim.modifyItem(mail.id, { subject: 'after' });
      const folder = sim.createFolder('Invoices');
      assert.deepEqual(modified.events.map((e) => `${e.type}:${e.kind}`), ['ModifiedEvent:item']);
      assert.deepEqual(folder.events.map((e) => `${e.type}:${e.kind}`), ['CreatedEvent:folder', 'ModifiedEvent:folder']);
      const streamed = () => sim.sent.flatMap((s) => s.events ?? []);
      await sim.waitFor(() => streamed().length >= 3);
      const itemEvent = streamed().find((e) => e.kind === 'item')!;
      const folderEvent = streamed().find((e) => e.type === 'CreatedEvent' && e.kind === 'folder')!;
      stream.destroy();

      const items = ok(await syncItems(sim, { state: itemState }));
      assert.deepEqual([kinds(items), entries(items)[0]!.changeKey], [[`Update:${mail.id}`], modified.item!.changeKey]);
      assert.equal(itemEvent.id.changeKey, 'CQAAAA==', "the stream's is the placeholder Exchange sends");
      assert.equal(itemEvent.id.id, mail.id);
      const folders = ok(await call(sim, syncHierarchyBody({ state: folderState })));
      assert.deepEqual(kinds(folders), [`Create:${folderEvent.id.id}`]);
      assert.equal(folderEvent.parent.id, sim.folder('msgfolderroot')!.id);
    }));
});

describe('readAndMoveAsFolderEvents (as gromox 2.17 streams)', () => {
  test('a read and a move are streamed only as the folders\' ModifiedEvents; the next sync reports them as usual', async () => {
    const sim = await startSimulator({ heartbeatMs: 60_000, readAndMoveAsFolderEvents: true });
    try {
      const [a, b, c] = ['a', 'b', 'c'].map((s) => deliver(sim, s));
      const state = ok(await syncItems(sim)).syncState!;
      const { id } = await subscribe(sim);
      const stream = rawPost(sim, gseBody([id], 1));
      await stream.until((text) => text.includes('<m:ConnectionStatus>OK'));
      const inbox = sim.folder('inbox')!.id;
      const read = sim.markRead(a!.id);
      const moved = sim.deleteItem(b!.id);
      const edited = sim.modifyItem(c!.id, { subject: 'c2' });
      const what = (events: { type: string; kind: string; id: { id: string } }[]) => events.map((e) => `${e.type}:${e.kind}:${e.id.id === inbox ? 'inbox' : e.id.id === c!.id ? 'c' : '?'}`);
      assert.deepEqual(what(read.events), ['ModifiedEvent:folder:inbox']);
      assert.deepEqual(what(moved.events), ['ModifiedEvent:folder:inbox', 'ModifiedEvent:folder:?']);
      assert.deepEqual(what(edited.events), ['ModifiedEvent:item:c'], 'other changes are streamed as usual');
      await sim.waitFor(() => sim.sent.filter((e) => e.kind === 'notification').length >= 3);
      stream.destroy();
      const streamed = sim.sent.flatMap((e) => e.events ?? []);
      assert.equal(streamed.some((e) => e.kind === 'item' && (e.id.id === a!.id || e.type === 'MovedEvent')), false, 'no item event for the read or the move');
      assert.deepEqual(kinds(ok(await syncItems(sim, { state }))), [`ReadFlagChange:${a!.id}`, `Delete:${b!.id}`, `Update:${c!.id}`]);
    } finally {
      await sim.close();
    }
  });
});

describe('sync consistency (seeded property test)', () => {
  type Model = Map<string, { changeKey: string; isRead: boolean }>;
  const FOLDERS = ['inbox', 'Archive'];

  function apply(model: Model, page: Answer): void {
    for (const e of page.messages[0]!.entries) {
      const where = `${e.type} ${e.id.slice(-12)}`;
      if (e.type === 'Create') assert.ok(!model.has(e.id), `Create of a held item: ${where}`);
      else assert.ok(model.has(e.id), `${where} of an item the client does not hold`);
      if (e.type === 'Delete') model.delete(e.id);
      else model.set(e.id, { changeKey: e.changeKey, isRead: e.props.IsRead === 'true' });
    }
  }

  function randomOp(sim: Simulator, random: () => number): void {
    const pool = FOLDERS.flatMap((f) => sim.items(f));
    const pick = () => pool[Math.floor(random() * pool.length)]!;
    const other = (folderId: string) => (folderId === sim.folder('inbox')!.id ? 'Archive' : 'inbox');
    const r = random();
    if (r < 0.3 || pool.length === 0) sim.deliverMail({ subject: `m${Math.floor(random() * 1000)}`, isRead: random() < 0.2 });
    else if (r < 0.45) sim.markRead(pick().id, random() < 0.7);
    else if (r < 0.55) sim.modifyItem(pick().id, { subject: `s${Math.floor(random() * 1000)}` });
    else if (r < 0.67) {
      const item = pick();
      sim.moveItem(item.id, other(item.folderId));
    }
    else if (r < 0.74) sim.copyItem(pick().id, random() < 0.5 ? 'inbox' : 'Archive');
    else if (r < 0.84) sim.deleteItem(pick().id);
    else if (r < 0.92) sim.deleteItem(pick().id, { hard: true });
  }

  for (const seed of [1, 42, 2024]) {
    test(`seed ${seed}: (items at S) + (changes since S) = (items now), for old and new S and any page size`, () =>
      withSim(async (sim) => {
        const random = prng(seed);
        const checkpoints = new Map<string, Array<{ state?: string; model: Model }>>(FOLDERS.map((f) => [f, [{ model: new Map() }]]));
        for (let round = 0; round < 20; round++) {
          const ops = Math.floor(random() * 7);
          for (let i = 0; i < ops; i++) randomOp(sim, random);
          for (const name of FOLDERS) {
            const saved = checkpoints.get(name)!;
            const from = saved[random() < 0.3 ? Math.floor(random() * saved.length) : saved.length - 1]!;
            const model: Model = new Map(from.model);
            const max = 1 + Math.floor(random() * 4);
            const pages = await syncAll(sim, { folder: sim.folder(name)!.id, max, fields: ['message:IsRead'], ...(from.state ? { state: from.state } : {}) });
            pages.forEach((p, i) => {
              ok(p);
              assert.ok(kinds(p).length <= max);
              assert.equal(p.last, i === pages.length - 1);
              apply(model, p);
            });
            const now = new Map(sim.items(name).map((i) => [i.id, { changeKey: i.changeKey, isRead: i.isRead }]));
            assert.deepEqual(model, now, `round ${round}, folder ${name}`);
            saved.push({ state: pages.at(-1)!.syncState!, model });
          }
        }
      }));
  }
});
