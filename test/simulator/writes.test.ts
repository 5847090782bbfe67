// The write calls served by the simulator, driven through the real EWS client (its builders and decoders): the
// mailbox afterwards, the ids and ChangeKeys returned, Exchange's per-item error codes, and what streams and syncs
// then report (the same events and sync changes as test-driven changes produce).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EwsResponseError, ProtocolError } from '../../src/errors.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import type { SimEvent } from '../../src/simulator/types.js';
import { simClient } from '../support/sim-client.js';
import { gseBody, post, rawPost, soap, subscribe } from './helpers.js';
import { call } from './mailbox-requests.js';

const ROOT = { kind: 'distinguished', name: 'msgfolderroot' } as const;
const PLACEHOLDER = /^[A-Za-z0-9+/]{6}==$/;

/** The events streamed to a subscription on `folders` while `action` runs (waits for at least `count`). */
async function streamed(sim: Simulator, folders: string[], count: number, action: () => Promise<unknown>): Promise<string[]> {
  const { id, cookie } = await subscribe(sim, folders);
  const stream = rawPost(sim, gseBody([id], 30), { Cookie: cookie });
  try {
    await stream.until((text) => text.includes('ConnectionStatus>OK'));
    const mine = (): SimEvent[] => sim.sent.filter((s) => s.kind === 'notification' && s.subscriptionIds.includes(id)).flatMap((s) => s.events ?? []);
    await action();
    await sim.waitFor(() => mine().length >= count);
    const name = (fid: string): string => sim.folders().find((f) => f.id === fid)?.displayName ?? 'gone';
    return mine().map((e) => `${e.type.replace(/Event$/, '')} ${e.kind} in ${name(e.parent.id)}${e.oldParent ? ` from ${name(e.oldParent.id)}` : ''}`);
  } finally {
    stream.destroy();
  }
}

const rejectsWith = (code: string) => (err: unknown) => err instanceof EwsResponseError && err.responseCode === code;

describe('write calls against the simulator', () => {
  let sim: Simulator;
  let client: ReturnType<typeof simClient>['client'];
  before(async () => {
    sim = await startSimulator({ heartbeatMs: 60_000 });
    client = simClient(sim).client;
  });
  after(() => sim.close());

  test('CreateFolder: a new folder under the root with a real ChangeKey; a second of that name is ErrorFolderExists; FindFolder lists it', async () => {
    const made = await client.createFolder(ROOT, 'ews-watch scratch A');
    const folder = sim.folder(made.id)!;
    assert.equal(folder.displayName, 'ews-watch scratch A');
    assert.equal(folder.parentId, sim.folder('msgfolderroot')!.id);
    assert.equal(made.changeKey, folder.changeKey);
    assert.doesNotMatch(made.changeKey!, PLACEHOLDER);
    await assert.rejects(client.createFolder(ROOT, 'EWS-WATCH scratch a'), rejectsWith('ErrorFolderExists'));
    const listed = await client.findFolders(ROOT);
    assert.deepEqual(listed.find((f) => f.id === made.id), { id: made.id, displayName: 'ews-watch scratch A' });
    assert.ok(listed.some((f) => f.displayName === 'Inbox'));
    assert.ok(!listed.some((f) => f.displayName === 'Projects'), 'Shallow: not the inbox subfolder');
    await assert.rejects(client.createFolder({ kind: 'id', id: 'not an id!' }, 'x'), rejectsWith('ErrorInvalidIdMalformed'));
  });

  test('FindFolder pages: 7 folders read 3 at a time through the offsets the server returns', async () => {
    const parent = await client.createFolder(ROOT, 'paged');
    for (let i = 0; i < 7; i += 1) await client.createFolder({ kind: 'id', id: parent.id }, `child ${i}`);
    const { client: small, http } = simClient(sim);
    const { buildFindFolder } = await import('../../src/ews/writes.js');
    const page = await http.post(buildFindFolder({ serverVersion: 'Exchange2013_SP1' }, { kind: 'id', id: parent.id }, 3, 3), { operation: 'FindFolder' });
    assert.match(page.body, /IndexedPagingOffset="6" TotalItemsInView="7" IncludesLastItemInRange="false"/);
    const all = await small.findFolders({ kind: 'id', id: parent.id });
    assert.deepEqual(all.map((f) => f.displayName), [0, 1, 2, 3, 4, 5, 6].map((i) => `child ${i}`));
  });

  test('CreateItem SaveOnly: a draft in the folder, Created + the folder Modified on the stream (no NewMail)', async () => {
    const folder = await client.createFolder(ROOT, 'drafts here');
    let draft: { id: string; changeKey?: string } | undefined;
    const events = await streamed(sim, [folder.id], 2, async () => (draft = await client.createDraft(folder.id, { subject: 'conformance 1', body: 'text' })));
    assert.deepEqual(events, ['Created item in drafts here', 'Modified folder in Top of Information Store']);
    const item = sim.item(draft!.id)!;
    assert.deepEqual([item.subject, item.isDraft, item.isRead, item.folderId], ['conformance 1', true, true, folder.id]);
    assert.equal(draft!.changeKey, item.changeKey);
    await assert.rejects(client.createDraft('AAMkAGI2TG93AAA=', { subject: 'x' }), rejectsWith('ErrorFolderNotFound'));
  });

  test('UpdateItem: IsRead, Flag and Subject change the item; the answer carries its new ChangeKey; one Modified per update', async () => {
    const folder = await client.createFolder(ROOT, 'updates');
    const draft = await client.createDraft(folder.id, { subject: 'before' });
    const unread = await client.updateItem(draft, { isRead: false });
    assert.equal(sim.item(draft.id)!.isRead, false);
    assert.notEqual(unread.changeKey, draft.changeKey);
    assert.equal(unread.changeKey, sim.item(draft.id)!.changeKey);
    const events = await streamed(sim, [folder.id], 2, () => client.updateItem(draft, { flag: 'Flagged', subject: 'after', isRead: true }));
    assert.deepEqual(events, ['Modified item in updates', 'Modified folder in Top of Information Store']);
    assert.deepEqual([sim.item(draft.id)!.flag, sim.item(draft.id)!.subject, sim.item(draft.id)!.isRead], ['Flagged', 'after', true]);
    await client.updateItem(draft, { flag: 'Complete' });
    assert.equal(sim.item(draft.id)!.flag, 'Complete');
    await client.updateItem(draft, { flag: 'NotFlagged' });
    assert.equal(sim.item(draft.id)!.flag, undefined);
  });

  test('UpdateItem with RequestServerVersion Exchange2010_SP1 flags through PidTagFlagStatus (0x1090), which the simulator reads too', async () => {
    const { client: old, http } = simClient(sim, 'Exchange2010_SP1');
    const folder = await client.createFolder(ROOT, 'old server');
    const draft = await client.createDraft(folder.id, { subject: 'flag me' });
    await old.updateItem(draft, { flag: 'Flagged' });
    assert.match(http.bodies.at(-1)!, /<t:ExtendedFieldURI PropertyTag="0x1090" PropertyType="Integer"\/>/);
    assert.equal(sim.item(draft.id)!.flag, 'Flagged');
    await old.updateItem(draft, { flag: 'Complete' });
    assert.equal(sim.item(draft.id)!.flag, 'Complete');
    await old.updateItem(draft, { flag: 'NotFlagged' });
    assert.match(http.bodies.at(-1)!, /<t:DeleteItemField><t:ExtendedFieldURI PropertyTag="0x1090"/);
    assert.equal(sim.item(draft.id)!.flag, undefined);
  });

  test('MoveItem and CopyItem return the new item ids; Moved and Copied on the stream', async () => {
    const a = await client.createFolder(ROOT, 'move from');
    const b = await client.createFolder(ROOT, 'move to');
    const draft = await client.createDraft(a.id, { subject: 'travels' });
    let moved: { id: string } | undefined;
    const events = await streamed(sim, [a.id, b.id], 3, async () => (moved = await client.moveItem(draft.id, b.id)));
    assert.deepEqual(events.slice(0, 1), ['Moved item in move to from move from']);
    assert.equal(sim.item(draft.id), undefined);
    assert.equal(sim.item(moved!.id)!.folderId, b.id);
    const copy = await client.copyItem(moved!.id, a.id);
    assert.equal(sim.item(copy.id)!.folderId, a.id);
    assert.equal(sim.item(moved!.id)!.folderId, b.id);
    await assert.rejects(client.moveItem(draft.id, b.id), rejectsWith('ErrorItemNotFound'));
    await assert.rejects(client.copyItem(copy.id, 'AAMkAGI2TG93AAA='), rejectsWith('ErrorFolderNotFound'));
  });

  test('DeleteItem: HardDelete is gone (Deleted), SoftDelete goes to Recoverable Items, MoveToDeletedItems to Deleted Items; again: already-gone', async () => {
    const folder = await client.createFolder(ROOT, 'deletes');
    const [hard, soft, bin] = await Promise.all(['hard', 'soft', 'bin'].map((subject) => client.createDraft(folder.id, { subject })));
    const events = await streamed(sim, [folder.id], 1, () => client.deleteItem(hard!.id, 'HardDelete'));
    assert.deepEqual(events[0], 'Deleted item in deletes');
    assert.equal(await client.deleteItem(soft!.id, 'SoftDelete'), 'deleted');
    assert.deepEqual(sim.items('recoverableitemsdeletions').map((i) => i.subject), ['soft']);
    assert.equal(await client.deleteItem(bin!.id, 'MoveToDeletedItems'), 'deleted');
    assert.deepEqual(sim.items('deleteditems').map((i) => i.subject), ['bin']);
    assert.deepEqual(sim.items(folder.id), []);
    for (const id of [hard!.id, soft!.id, bin!.id]) assert.equal(await client.deleteItem(id, 'HardDelete'), 'already-gone');
    await assert.rejects(client.deleteItem('%%%', 'HardDelete'), rejectsWith('ErrorInvalidIdMalformed'));
  });

  test('SyncFolderItems reports a SoftDelete and a MoveToDeletedItems as Deletes, like a hard delete', async () => {
    const folder = await client.createFolder(ROOT, 'sync deletes');
    const ids = await Promise.all(['one', 'two', 'three'].map((subject) => client.createDraft(folder.id, { subject })));
    const first = await client.syncFolderItems({ folder: { kind: 'id', id: folder.id }, maxChanges: 512 });
    assert.deepEqual(first.changes.map((c) => c.kind).sort(), ['create', 'create', 'create']);
    await client.deleteItem(ids[0]!.id, 'SoftDelete');
    await client.deleteItem(ids[1]!.id, 'MoveToDeletedItems');
    await client.deleteItem(ids[2]!.id, 'HardDelete');
    const next = await client.syncFolderItems({ folder: { kind: 'id', id: folder.id }, syncState: first.syncState, maxChanges: 512 });
    assert.deepEqual(next.changes.map((c) => `${c.kind} ${c.itemId}`).sort(), ids.map((i) => `delete ${i.id}`).sort());
  });

  test('DeleteFolder: a distinguished folder is refused; a scratch folder goes with its items (SyncFolderHierarchy says so); again: already-gone', async () => {
    await assert.rejects(client.deleteFolder(sim.folder('inbox')!.id, 'HardDelete'), rejectsWith('ErrorDeleteDistinguishedFolder'));
    const folder = await client.createFolder(ROOT, 'to delete');
    await client.createDraft(folder.id, { subject: 'inside' });
    const before = await client.syncFolderHierarchy!({});
    assert.ok(before.changes.some((c) => c.kind === 'create' && c.folderId === folder.id));
    assert.equal(await client.deleteFolder(folder.id, 'HardDelete'), 'deleted');
    assert.equal(sim.folder(folder.id), undefined);
    const after = await client.syncFolderHierarchy!({ syncState: before.syncState });
    assert.deepEqual(after.changes.filter((c) => c.folderId === folder.id).map((c) => c.kind), ['delete']);
    assert.equal(await client.deleteFolder(folder.id, 'HardDelete'), 'already-gone');
    const binned = await client.createFolder(ROOT, 'to the bin');
    assert.equal(await client.deleteFolder(binned.id, 'MoveToDeletedItems'), 'deleted');
    assert.equal(sim.folder(binned.id)!.parentId, sim.folder('deleteditems')!.id);
  });

  test('a scripted error answers each write with an error message: the client throws EwsResponseError with the code', async () => {
    sim.script('CreateItem', { error: 'ErrorQuotaExceeded' });
    const folder = await client.createFolder(ROOT, 'quota');
    await assert.rejects(client.createDraft(folder.id, { subject: 'x' }), (e: unknown) => rejectsWith('ErrorQuotaExceeded')(e) && /^CreateItem: ErrorQuotaExceeded/.test((e as Error).message));
    sim.script('MoveItem', { status: 200, body: '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:MoveItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages><m:MoveItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items/></m:MoveItemResponseMessage></m:ResponseMessages></m:MoveItemResponse></s:Body></s:Envelope>' });
    const draft = await client.createDraft(folder.id, { subject: 'y' });
    await assert.rejects(client.moveItem(draft.id, folder.id), (e: unknown) => e instanceof ProtocolError && /the MoveItem answer has no ItemId/.test(e.message));
  });

  test('loseNextCreated: the next draft is never streamed nor synced (a server that loses a change), the one after is', async () => {
    const folder = await client.createFolder(ROOT, 'lossy');
    const first = await client.syncFolderItems({ folder: { kind: 'id', id: folder.id }, maxChanges: 512 });
    sim.loseNextCreated();
    let lost: { id: string } | undefined;
    let kept: { id: string } | undefined;
    const events = await streamed(sim, [folder.id], 3, async () => {
      lost = await client.createDraft(folder.id, { subject: 'lost' });
      kept = await client.createDraft(folder.id, { subject: 'kept' });
    });
    assert.deepEqual(events, ['Modified folder in Top of Information Store', 'Created item in lossy', 'Modified folder in Top of Information Store']);
    assert.equal(sim.item(lost!.id)!.subject, 'lost', 'the item is there all the same');
    const next = await client.syncFolderItems({ folder: { kind: 'id', id: folder.id }, syncState: first.syncState, maxChanges: 512 });
    assert.deepEqual(next.changes.map((c) => `${c.kind} ${c.itemId}`), [`create ${kept!.id}`]);
  });

  test("requests Exchange's schema refuses get ErrorSchemaValidation (HTTP 500); per-item refusals come with Exchange's codes", async () => {
    const draft = await client.createDraft(sim.folder('drafts')!.id, { subject: 'rules' });
    const noType = await post(sim, soap(`<m:DeleteItem><m:ItemIds><t:ItemId Id="${draft.id}"/></m:ItemIds></m:DeleteItem>`));
    assert.equal(noType.status, 500);
    assert.match(noType.body, /ErrorSchemaValidation[\s\S]*The required attribute 'DeleteType' is missing\./);
    const badType = await post(sim, soap(`<m:DeleteFolder DeleteType="Purge"><m:FolderIds><t:FolderId Id="${draft.id}"/></m:FolderIds></m:DeleteFolder>`));
    assert.match(badType.body, /ErrorSchemaValidation[\s\S]*The value 'Purge' is invalid according to its datatype '[^']*:DisposalType'/);
    const update = (attrs: string, change: string) =>
      call(sim, soap(`<m:UpdateItem ${attrs}><m:ItemChanges><t:ItemChange><t:ItemId Id="${draft.id}" ChangeKey="CQAAABYAAAAstale"/><t:Updates>${change}</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`));
    const two = await update('ConflictResolution="AlwaysOverwrite"', '<t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:Message><t:Subject>a</t:Subject><t:Importance>High</t:Importance></t:Message></t:SetItemField>');
    assert.deepEqual([two.messages[0]!.responseClass, two.messages[0]!.code], ['Error', 'ErrorIncorrectUpdatePropertyCount']);
    const mismatch = await update('ConflictResolution="AlwaysOverwrite"', '<t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:Message><t:IsRead>true</t:IsRead></t:Message></t:SetItemField>');
    assert.equal(mismatch.messages[0]!.code, 'ErrorUpdatePropertyMismatch');
    const stale = await update('ConflictResolution="NeverOverwrite"', '<t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:Message><t:Subject>b</t:Subject></t:Message></t:SetItemField>');
    assert.equal(stale.messages[0]!.code, 'ErrorIrresolvableConflict');
    const overwrite = await update('ConflictResolution="AlwaysOverwrite"', '<t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:Message><t:Subject>c</t:Subject></t:Message></t:SetItemField>');
    assert.equal(overwrite.messages[0]!.code, 'NoError');
    assert.equal(sim.item(draft.id)!.subject, 'c');
    const undisposed = await call(sim, soap('<m:CreateItem><m:Items><t:Message><t:Subject>x</t:Subject></t:Message></m:Items></m:CreateItem>'));
    assert.equal(undisposed.messages[0]!.code, 'ErrorMessageDispositionRequired');
  });
});
