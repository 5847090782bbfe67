// GetItem and GetFolder served from the simulated mailbox over real HTTP (hand-written requests): per-id answers
// in order with per-id errors, only the requested properties, escaping, answers cut inside multi-byte characters,
// scripted errors; the new mailbox operations; and schema validity of everything sent and received.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';
import { createIdFactory } from '../../src/simulator/ids.js';
import { createMailbox } from '../../src/simulator/mailbox.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { validateEwsRequests } from '../support/schema.js';
import { sharedDir } from '../support/shared.js';
import { elementsOf, post, rawPost } from './helpers.js';
import { call, getFolderBody, getItemBody, syncHierarchyBody, syncItemsBody, type Answer } from './mailbox-requests.js';
import { extractBodyPayload, findSchemaDir, validatePayloads } from './schema-check.js';

const SENDER = { name: 'Zoë Müller', address: 'zoe.mueller@fabrikam.de' };
const classes = (a: Answer) => a.messages.map((m) => [m.responseClass, m.code]);
const only = (a: Answer, i = 0) => a.messages[i]!.entries[0]!;

describe('GetItem', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ heartbeatMs: 60_000 });
  });
  after(() => sim.close());

  test('three ids, the middle one deleted: Success, ErrorItemNotFound, Success in request order (HTTP 200)', async () => {
    const [a, b, c] = ['one', 'two', 'three'].map((subject) => sim.deliverMail({ subject, from: SENDER }).item!);
    sim.deleteItem(b!.id);
    const answer = await call(sim, getItemBody([a!.id, b!.id, c!.id], ['item:Subject']));
    assert.equal(answer.status, 200);
    assert.deepEqual(classes(answer), [['Success', 'NoError'], ['Error', 'ErrorItemNotFound'], ['Success', 'NoError']]);
    assert.deepEqual([only(answer, 0).props.Subject, only(answer, 2).props.Subject], ['one', 'three']);
    assert.deepEqual([only(answer, 0).id, only(answer, 2).id], [a!.id, c!.id]);
    assert.deepEqual(answer.messages[1]!.entries, []);
    assert.ok(answer.body.includes('<m:MessageText>The specified object was not found in the store.</m:MessageText><m:ResponseCode>ErrorItemNotFound</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:Items/>'));
  });

  test('only the requested properties (plus ItemId), in schema order, with the values the mail was given', async () => {
    const mail = sim.deliverMail({
      subject: 'RE: Budget 2025',
      from: SENDER,
      to: [
        { name: 'Alice', address: 'alice@contoso.com' },
        { name: 'Bob', address: 'bob@contoso.com' },
      ],
      receivedAt: '2024-05-01T09:30:00.500+02:00',
      isRead: true,
      hasAttachments: true,
      importance: 'High',
      size: 12_345,
      internetMessageId: '<CAF=x@mail.fabrikam.de>',
      itemClass: 'IPM.Note.SMIME',
    }).item!;
    const fields = ['message:IsRead', 'item:Subject', 'message:From', 'message:ToRecipients', 'item:DateTimeReceived', 'item:HasAttachments'];
    fields.push('item:Importance', 'item:Size', 'message:InternetMessageId', 'item:ItemClass');
    const answer = await call(sim, getItemBody([mail.id], fields));
    const entry = only(answer);
    assert.equal(entry.element, 'Message');
    assert.deepEqual(
      Object.keys(entry.props).filter((k) => !k.includes('/')),
      ['ItemId', 'ItemClass', 'Subject', 'DateTimeReceived', 'Size', 'Importance', 'HasAttachments', 'ToRecipients', 'From', 'InternetMessageId', 'IsRead'],
      'ItemType properties, then MessageType ones, each in schema order',
    );
    const p = entry.props;
    assert.deepEqual(
      [p.ItemClass, p.Subject, p.DateTimeReceived, p.Size, p.Importance, p.HasAttachments, p.InternetMessageId, p.IsRead],
      ['IPM.Note.SMIME', 'RE: Budget 2025', '2024-05-01T07:30:00Z', '12345', 'High', 'true', '<CAF=x@mail.fabrikam.de>', 'true'],
    );
    assert.deepEqual([p['From/Mailbox/Name'], p['From/Mailbox/EmailAddress'], p['From/Mailbox/RoutingType'], p['From/Mailbox/MailboxType']], ['Zoë Müller', SENDER.address, 'SMTP', 'OneOff']);
    const to = elementsOf(answer.body).filter((e) => e.path.includes('ToRecipients') && e.local === 'EmailAddress').map((e) => e.text);
    assert.deepEqual(to, ['alice@contoso.com', 'bob@contoso.com']);
    assert.equal(entry.changeKey, mail.changeKey);
  });

  test('shapes: IdOnly is the ItemId alone; Default and AllProperties add their sets; new mail gets sensible defaults', async () => {
    const mail = sim.deliverMail({ subject: 'FW: RE: plain', from: { name: 'Adele', address: 'adele@contoso.com' } }).item!;
    const idOnly = only(await call(sim, getItemBody([mail.id])));
    assert.deepEqual(Object.keys(idOnly.props), ['ItemId']);
    const byDefault = only(await call(sim, getItemBody([mail.id], [], 'Default')));
    assert.deepEqual(Object.keys(byDefault.props).filter((k) => !k.includes('/')), ['ItemId', 'Subject', 'Sensitivity', 'HasAttachments', 'IsAssociated', 'ToRecipients', 'IsReadReceiptRequested', 'IsDeliveryReceiptRequested', 'From', 'IsRead']);
    const all = only(await call(sim, getItemBody([mail.id], [], 'AllProperties'))).props;
    assert.deepEqual(
      [all.ParentFolderId, all.ItemClass, all.Importance, all.HasAttachments, all.IsRead, all.ConversationTopic, all['From/Mailbox/MailboxType']],
      [sim.folder('inbox')!.id, 'IPM.Note', 'Normal', 'false', 'false', 'plain', 'Mailbox'],
    );
    assert.equal(all.DateTimeReceived, mail.receivedAt);
    assert.ok(Number(all.Size) > 1000);
    assert.equal(all.InternetMessageId, mail.internetMessageId);
  });

  test('subjects with XML-special and non-ASCII characters come back intact', async () => {
    const subject = 'Grüße <b>&amp; "quoted" \'x\' ]]> 会議 🎉\r\nnext';
    const mail = sim.deliverMail({ subject, from: { name: 'A & B <co>', address: 'ab@contoso.com' } }).item!;
    const answer = await call(sim, getItemBody([mail.id], ['item:Subject', 'message:From']));
    assert.equal(only(answer).props.Subject, subject);
    assert.equal(only(answer).props['From/Mailbox/Name'], 'A & B <co>');
    assert.ok(answer.body.includes('Grüße &lt;b&gt;&amp;amp; "quoted" \'x\' ]]&gt; 会議 🎉&#xD;\nnext'));
  });

  test('a C0 control in a subject goes out as a character reference XML 1.0 forbids (&#x1A;, &#x0;), as Exchange writes it', async () => {
    const mail = sim.deliverMail({ subject: 'CASEBR\u001aS CAIXA \u0000\u0007end', from: { name: 'Bell\u0007', address: 'ab@contoso.com' } }).item!;
    const answer = await post(sim, getItemBody([mail.id], ['item:Subject', 'message:From']));
    assert.equal(answer.status, 200);
    assert.ok(answer.body.includes('<t:Subject>CASEBR&#x1A;S CAIXA &#x0;&#x7;end</t:Subject>'), answer.body);
    assert.ok(answer.body.includes('<t:Name>Bell&#x7;</t:Name>'), answer.body);
  });

  test('item classes: meeting messages are MessageType elements; other classes are t:Item without message properties', async () => {
    const request = sim.deliverMail({ subject: 'Sync', itemClass: 'IPM.Schedule.Meeting.Request' }).item!;
    const other = sim.deliverMail({ subject: 'Note', itemClass: 'IPM.StickyNote' }).item!;
    const answer = await call(sim, getItemBody([request.id, other.id], ['item:Subject', 'message:IsRead']));
    assert.deepEqual(answer.messages.map((m) => [m.entries[0]!.element, Object.keys(m.entries[0]!.props)]), [
      ['MeetingRequest', ['ItemId', 'Subject', 'IsRead']],
      ['Item', ['ItemId', 'Subject']],
    ]);
  });

  test('malformed ids fail alone; an unknown FieldURI or no ItemIds fails schema validation (HTTP 500)', async () => {
    const mail = sim.deliverMail({ subject: 'x' }).item!;
    assert.deepEqual(classes(await call(sim, getItemBody(['#bad#', mail.id]))), [['Error', 'ErrorInvalidIdMalformed'], ['Success', 'NoError']]);
    const typo = await post(sim, getItemBody([mail.id], ['item:Subjet']));
    assert.equal(typo.status, 500);
    assert.match(typo.body, /The value 'item:Subjet' is invalid according to its datatype '[^']+:UnindexedFieldURIType'/);
    const empty = await post(sim, getItemBody([]));
    assert.equal(empty.status, 500);
    assert.match(empty.body, /'ItemIds' in namespace '[^']+messages' has incomplete content/);
  });

  test('a scripted ErrorServerBusy answers every requested id with BackOffMilliseconds; the next request is served', async () => {
    const mail = sim.deliverMail({ subject: 'x' }).item!;
    sim.script('GetItem', { error: 'ErrorServerBusy', backOffMs: 300_000 });
    const busy = await call(sim, getItemBody([mail.id, mail.id]));
    assert.deepEqual(busy.messages.map((m) => [m.responseClass, m.code, m.backOffMs]), [['Error', 'ErrorServerBusy', 300_000], ['Error', 'ErrorServerBusy', 300_000]]);
    assert.deepEqual(classes(await call(sim, getItemBody([mail.id]))), [['Success', 'NoError']]);
  });

  test('modifyItem: item ModifiedEvent (placeholder ChangeKey), new ChangeKey, GetItem serves the new values; no event when nothing differs', async () => {
    const mail = sim.deliverMail({ subject: 'draft title' }).item!;
    const changed = sim.modifyItem(mail.id, { subject: 'final title', importance: 'Low' });
    assert.deepEqual(changed.events.map((e) => [e.type, e.kind, e.id.changeKey]), [['ModifiedEvent', 'item', 'CQAAAA==']]);
    assert.notEqual(changed.item!.changeKey, mail.changeKey);
    const props = only(await call(sim, getItemBody([mail.id], ['item:Subject', 'item:Importance']))).props;
    assert.deepEqual([props.Subject, props.Importance], ['final title', 'Low']);
    assert.deepEqual(sim.modifyItem(mail.id, { subject: 'final title' }).events, []);
    assert.equal(sim.changes().at(-1)!.kind, 'update');
  });

  test('splitReplies: an answer can arrive in chunks that cut a multi-byte character; whole again without arguments', async () => {
    const mail = sim.deliverMail({ subject: 'Grüße aus München', from: SENDER }).item!;
    const body = getItemBody([mail.id], ['item:Subject']);
    const whole = await post(sim, body);
    const bytes = Buffer.from(whole.body, 'utf8');
    const cut = bytes.indexOf(Buffer.from('ü', 'utf8')) + 1; // after the first of ü's two bytes
    sim.splitReplies([cut, 7], 0);
    const raw = rawPost(sim, body);
    await raw.until((text) => text.endsWith('</s:Envelope>'));
    raw.destroy(); // the connection itself is kept alive
    assert.match(await raw.head, /transfer-encoding: chunked/i);
    assert.equal(raw.chunks.length, 3);
    assert.equal(raw.chunks[0]!.at(-1), 0xc3, 'the first chunk ends inside ü');
    assert.equal(raw.text(), whole.body);
    const viaFetch = await post(sim, body, { 'accept-encoding': 'identity' });
    assert.equal(viaFetch.headers.get('content-length'), null);
    assert.equal(viaFetch.body, whole.body, 'a real client decodes the character across the chunk boundary');
    sim.splitReplies();
    const again = rawPost(sim, body);
    assert.match(await again.head, /content-length: \d+/i);
    again.destroy();
  });
});

describe('GetFolder', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ heartbeatMs: 60_000 });
  });
  after(() => sim.close());

  test('distinguished inbox: its FolderId, DisplayName "Inbox" and live counts', async () => {
    const first = sim.deliverMail({ subject: 'a' }).item!;
    sim.deliverMail({ subject: 'b' });
    sim.markRead(first.id);
    const inbox = sim.folder('inbox')!;
    const entry = only(await call(sim, getFolderBody(['inbox'])));
    assert.deepEqual([entry.element, entry.id, entry.changeKey], ['Folder', inbox.id, inbox.changeKey]);
    assert.deepEqual(entry.props, { FolderId: '', DisplayName: 'Inbox', TotalCount: '2', ChildFolderCount: '1', UnreadCount: '1' });
  });

  test('several folders: one message each in order, ErrorFolderNotFound alone; folder types follow the folder class', async () => {
    const calendar = sim.folder('calendar')!;
    const answer = await call(sim, getFolderBody(['inbox', `AQMk${'B'.repeat(100)}`, calendar.id, 'contacts', 'tasks'], 'AllProperties'));
    assert.deepEqual(classes(answer), [['Success', 'NoError'], ['Error', 'ErrorFolderNotFound'], ['Success', 'NoError'], ['Success', 'NoError'], ['Success', 'NoError']]);
    assert.deepEqual(answer.messages.map((m) => m.entries[0]?.element), ['Folder', undefined, 'CalendarFolder', 'ContactsFolder', 'TasksFolder']);
    assert.ok(answer.body.includes('<m:ResponseCode>ErrorFolderNotFound</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:Folders/>'));
    const cal = only(answer, 2).props;
    assert.deepEqual([cal.ParentFolderId, cal.FolderClass, cal.DisplayName, 'UnreadCount' in cal], [sim.folder('msgfolderroot')!.id, 'IPF.Appointment', 'Calendar', false]);
  });

  test('IdOnly is the FolderId alone; DistinguishedFolderId only when asked; a scripted error answers each folder', async () => {
    assert.deepEqual(Object.keys(only(await call(sim, getFolderBody(['sentitems'], 'IdOnly'))).props), ['FolderId']);
    const named = only(await call(sim, getFolderBody(['sentitems'], 'IdOnly', ['folder:DistinguishedFolderId', 'folder:DisplayName']))).props;
    assert.deepEqual(named, { FolderId: '', DisplayName: 'Sent Items', DistinguishedFolderId: 'sentitems' });
    sim.script('GetFolder', { error: 'ErrorServerBusy', backOffMs: 2000 });
    assert.deepEqual((await call(sim, getFolderBody(['inbox', 'drafts']))).messages.map((m) => [m.code, m.backOffMs]), [['ErrorServerBusy', 2000], ['ErrorServerBusy', 2000]]);
  });
});

describe('mailbox additions', () => {
  const fixture = () => createMailbox('alice@contoso.com', createIdFactory(), () => Date.UTC(2024, 4, 1, 9, 30));

  test('createFolder / renameFolder / deleteFolder: stream events, hierarchy log, refusals for default folders and clashes', () => {
    const mailbox = fixture();
    const inbox = mailbox.folder('inbox')!;
    const created = mailbox.createFolder('Receipts', 'inbox');
    assert.deepEqual(created.events.map((e) => [e.type, e.kind, e.id.id, e.parent.id]), [
      ['CreatedEvent', 'folder', created.folder!.id, inbox.id],
      ['ModifiedEvent', 'folder', inbox.id, mailbox.folder('msgfolderroot')!.id],
    ]);
    assert.deepEqual([created.folder!.parentId, created.folder!.folderClass], [inbox.id, 'IPF.Note']);
    assert.throws(() => mailbox.createFolder('receipts', 'inbox'), UsageError);
    assert.throws(() => mailbox.renameFolder('inbox', 'Post'), /default folder/);
    assert.throws(() => mailbox.deleteFolder('drafts'), /default folder/);
    mailbox.createFolder('2024', 'Receipts');
    const mail = mailbox.deliverMail({ subject: 'x', from: SENDER }).item!;
    const moved = mailbox.moveItem(mail.id, '2024').item!;
    const gone = mailbox.deleteFolder('Receipts');
    assert.deepEqual(gone.events.map((e) => `${e.type}:${e.kind}`), ['DeletedEvent:folder', 'DeletedEvent:folder', 'ModifiedEvent:folder']);
    assert.equal(mailbox.item(moved.id), undefined, 'items go with their folder');
    assert.equal(mailbox.folder('2024'), undefined);
    assert.deepEqual(mailbox.folderChanges().map((c) => c.kind), ['create', 'create', 'delete', 'delete']);
    assert.deepEqual(mailbox.changes().map((c) => c.kind), ['create', 'delete', 'create', 'delete']);
  });

  test('deliverMail checks what it is given; modifyItem records one update per real change', () => {
    const mailbox = fixture();
    assert.throws(() => mailbox.deliverMail({ subject: 'x', from: SENDER, receivedAt: 'yesterday-ish' }), /not a date-time/);
    assert.throws(() => mailbox.deliverMail({ subject: 'x', from: SENDER, importance: 'Urgent' as 'High' }), /importance/);
    const mail = mailbox.deliverMail({ subject: 'x', from: SENDER, isRead: true }).item!;
    assert.deepEqual([mail.isRead, mailbox.folder('inbox')!.unreadCount, mail.importance, mail.itemClass, mail.receivedAt], [true, 0, 'Normal', 'IPM.Note', '2024-05-01T09:30:00Z']);
    mailbox.modifyItem(mail.id, { subject: 'y' });
    mailbox.modifyItem(mail.id, { subject: 'y' });
    assert.deepEqual(mailbox.changesSince(mail.folderId, 0).map((c) => c.kind), ['create', 'update']);
  });
});

test('every answer is schema-valid, and so is every request these tests send', async (t) => {
  if (!sharedDir() || !findSchemaDir()) return t.skip('../shared absent: set EWS_WATCH_SHARED or check out ../shared to validate against the EWS schema');
  const sim = await startSimulator({ heartbeatMs: 60_000 });
  const docs: Array<{ name: string; xml: string }> = [];
  const requests: string[] = [];
  const send = async (name: string, body: string): Promise<void> => {
    requests.push(body);
    docs.push({ name, xml: (await post(sim, body)).body });
  };
  try {
    const a = sim.deliverMail({ subject: 'a <&>', from: SENDER, hasAttachments: true }).item!;
    const b = sim.deliverMail({ subject: 'b', itemClass: 'IPM.Schedule.Meeting.Request' }).item!;
    const c = sim.deliverMail({ subject: 'c', itemClass: 'IPM.Appointment' }).item!;
    const state = (await call(sim, syncItemsBody())).syncState!;
    const folders = (await call(sim, syncHierarchyBody({ base: 'AllProperties' }))).syncState!;
    sim.markRead(a.id);
    sim.modifyItem(b.id, { subject: 'b2' });
    sim.deleteItem(c.id, { hard: true });
    sim.deliverMail({ subject: 'd' });
    const folder = sim.createFolder('Neu').folder!;
    sim.renameFolder(folder.id, 'Neuer');
    sim.createFolder('Weg');
    await send('sync-full', syncItemsBody({ base: 'AllProperties', max: 2 }));
    await send('sync-incremental', syncItemsBody({ state, base: 'AllProperties', ignore: [a.id] }));
    await send('sync-bad-state', syncItemsBody({ state: 'garbage' }));
    await send('hierarchy-full', syncHierarchyBody({ base: 'AllProperties', fields: ['folder:DistinguishedFolderId'] }));
    sim.deleteFolder('Weg');
    await send('hierarchy-incremental', syncHierarchyBody({ state: folders, base: 'Default', folder: 'msgfolderroot' }));
    await send('get-item', getItemBody([a.id, c.id, b.id], [], 'AllProperties'));
    await send('get-folder', getFolderBody(['inbox', 'calendar', 'contacts', 'tasks', 'root', `AQMk${'C'.repeat(100)}`], 'AllProperties', ['folder:DistinguishedFolderId']));
    sim.script('SyncFolderHierarchy', { error: 'ErrorServerBusy', backOffMs: 5000 });
    await send('hierarchy-busy', syncHierarchyBody());
    sim.script('GetItem', { error: 'ErrorServerBusy', backOffMs: 5000 });
    await send('get-item-busy', getItemBody([a.id]));
  } finally {
    await sim.close();
  }
  const result = await validatePayloads(findSchemaDir()!, docs.map((d) => ({ name: d.name, xml: extractBodyPayload(d.xml) })));
  assert.deepEqual(result.errors, []);
  assert.equal(result.valid, true);
  const results = await validateEwsRequests(requests);
  requests.forEach((request, i) => assert.deepEqual(results[i]!.errors, [], request.slice(0, 300)));
});
