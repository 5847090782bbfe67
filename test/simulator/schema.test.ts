// Everything the simulator writes is checked against Microsoft's EWS schema (../shared/ews-schema, validated
// with xmllint-wasm): each response's and each stream envelope's Body payload. Skips visibly without ../shared.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator } from '../../src/simulator/index.js';
import { elementsOf, gseBody, post, rawPost, soap, splitEnvelopes, subscribe, subscribeBody, unsubscribeBody } from './helpers.js';
import { extractBodyPayload, findSchemaDir, validatePayloads } from './schema-check.js';
import { buildCreateFolder, buildCreateItem, buildDeleteFolder, buildDeleteItem, buildFindFolder, buildMoveCopyItem, buildUpdateItem } from '../../src/ews/writes.js';

test('every envelope the simulator sends is well-formed and its Body payload is schema-valid', async (t) => {
  const schemaDir = findSchemaDir();
  const sim = await startSimulator({ heartbeatMs: 60_000, minuteMs: 60_000, directory: [{ name: 'Alice Jones', address: 'alice.jones@contoso.com' }] });
  const docs: Array<{ name: string; xml: string }> = [];
  try {
    // Ordinary responses: successes, response-message errors and SOAP faults.
    const { id, cookie } = await subscribe(sim, 'all');
    docs.push({ name: 'subscribe-ok', xml: (await post(sim, subscribeBody(['inbox']))).body });
    docs.push({ name: 'subscribe-folder-not-found', xml: (await post(sim, subscribeBody(['voicemail']))).body });
    sim.script('Subscribe', { error: 'ErrorServerBusy', backOffMs: 5000 });
    docs.push({ name: 'subscribe-busy', xml: (await post(sim, subscribeBody())).body });
    sim.script('Subscribe', { fault: 'ErrorServerBusy', backOffMs: 299984 });
    docs.push({ name: 'fault-busy', xml: (await post(sim, subscribeBody())).body });
    docs.push({ name: 'fault-schema', xml: (await post(sim, '<oops')).body });
    docs.push({ name: 'fault-version', xml: (await post(sim, soap('<m:Unsubscribe><m:SubscriptionId>x</m:SubscriptionId></m:Unsubscribe>', ''))).body });
    docs.push({ name: 'unsubscribe-not-found', xml: (await post(sim, unsubscribeBody('AAAAAAAAAAAA'))).body });

    // Finding a DOMAIN\user's address: ConvertId (successes and per-id errors) and ResolveNames (one, several, none).
    const root = sim.folder('root')!.id;
    const alternate = (id: string, mailbox: string) => `<t:AlternateId Format="EwsId" Id="${id}" Mailbox="${mailbox}"/>`;
    const convert = (destination: string, ids: string) => soap(`<m:ConvertId DestinationFormat="${destination}"><m:SourceIds>${ids}</m:SourceIds></m:ConvertId>`);
    docs.push({ name: 'convertid-ok', xml: (await post(sim, convert('EwsId', alternate(root, 'nobody@example.com')))).body });
    docs.push({ name: 'convertid-hex', xml: (await post(sim, convert('HexEntryId', alternate(root, 'nobody@example.com')))).body });
    const errors = alternate(root, 'nobody') + alternate('QUJDREVGR0hJSktM', 'a@b.c') + '<t:AlternatePublicFolderId Format="EwsId" FolderId="AQEu"/>';
    docs.push({ name: 'convertid-errors', xml: (await post(sim, convert('EwsId', errors))).body });
    const resolve = (entry: string, full = false) => soap(`<m:ResolveNames ReturnFullContactData="${full}"><m:UnresolvedEntry>${entry}</m:UnresolvedEntry></m:ResolveNames>`);
    docs.push({ name: 'resolvenames-one', xml: (await post(sim, resolve('alice@contoso.com'))).body });
    docs.push({ name: 'resolvenames-one-full', xml: (await post(sim, resolve('alice@contoso.com', true))).body });
    docs.push({ name: 'resolvenames-many', xml: (await post(sim, resolve('alice', true))).body });
    docs.push({ name: 'resolvenames-none', xml: (await post(sim, resolve('nobody'))).body });
    sim.script('ConvertId', { error: 'ErrorInternalServerError' });
    docs.push({ name: 'convertid-scripted-error', xml: (await post(sim, convert('EwsId', alternate(root, 'a@b.c')))).body });

    // A stream that carries every event kind, then errors with and without Closed.
    const stream = rawPost(sim, gseBody([id], 30), { Cookie: cookie });
    await stream.until((text) => text.includes('<m:ConnectionStatus>OK'));
    const mail = sim.deliverMail({ subject: 'schema' });
    sim.markRead(mail.item!.id);
    const copy = sim.copyItem(mail.item!.id, 'drafts');
    sim.moveItem(mail.item!.id, 'Archive');
    sim.deleteItem(copy.item!.id, { hard: true });
    await sim.waitFor(() => sim.sent.filter((s) => s.kind === 'notification').length === 5);
    sim.expireSubscription(id, 'ErrorSubscriptionNotFound');
    await stream.done;
    const other = await subscribe(sim);
    sim.script('GetStreamingEvents', [
      { op: 'error', code: 'ErrorMissedNotificationEvents', close: false },
      { op: 'error', code: 'ErrorServerBusy', backOffMs: 1000, close: false },
      { op: 'closed' },
    ]);
    await rawPost(sim, gseBody([other.id], 1), { Cookie: other.cookie }).done;
    docs.push({ name: 'unsubscribe-ok', xml: (await post(sim, unsubscribeBody(other.id), { cookie: other.cookie })).body });
    // The write calls (successes and per-item errors), built by the client's own builders.
    const w = { serverVersion: 'Exchange2013_SP1' };
    const rootRef = { kind: 'distinguished', name: 'msgfolderroot' } as const;
    const made = await post(sim, buildCreateFolder(w, rootRef, 'schema scratch'));
    docs.push({ name: 'createfolder-ok', xml: made.body });
    const scratch = /<t:FolderId Id="([^"]+)"/.exec(made.body)![1]!;
    docs.push({ name: 'createfolder-exists', xml: (await post(sim, buildCreateFolder(w, rootRef, 'schema scratch'))).body });
    docs.push({ name: 'findfolder-ok', xml: (await post(sim, buildFindFolder(w, rootRef, 0, 3))).body });
    docs.push({ name: 'findfolder-not-found', xml: (await post(sim, buildFindFolder(w, { kind: 'id', id: 'AAMkAGI2TG93AAA=' }))).body });
    const drafted = await post(sim, buildCreateItem(w, scratch, { subject: 'schema', body: 'b' }));
    docs.push({ name: 'createitem-ok', xml: drafted.body });
    const draftId = /<t:ItemId Id="([^"]+)"/.exec(drafted.body)![1]!;
    docs.push({ name: 'createitem-folder-not-found', xml: (await post(sim, buildCreateItem(w, 'AAMkAGI2TG93AAA=', { subject: 'x' }))).body });
    docs.push({ name: 'updateitem-ok', xml: (await post(sim, buildUpdateItem(w, { id: draftId }, { isRead: false, flag: 'Flagged', subject: 's' }))).body });
    docs.push({ name: 'updateitem-malformed', xml: (await post(sim, buildUpdateItem(w, { id: '%%%' }, { isRead: true }))).body });
    const copied = await post(sim, buildMoveCopyItem(w, 'CopyItem', draftId, scratch));
    docs.push({ name: 'copyitem-ok', xml: copied.body });
    docs.push({ name: 'moveitem-ok', xml: (await post(sim, buildMoveCopyItem(w, 'MoveItem', draftId, sim.folder('inbox')!.id))).body });
    docs.push({ name: 'moveitem-not-found', xml: (await post(sim, buildMoveCopyItem(w, 'MoveItem', draftId, scratch))).body });
    const copyId = /<t:ItemId Id="([^"]+)"/.exec(copied.body)![1]!;
    docs.push({ name: 'deleteitem-ok', xml: (await post(sim, buildDeleteItem(w, copyId, 'SoftDelete'))).body });
    docs.push({ name: 'deleteitem-not-found', xml: (await post(sim, buildDeleteItem(w, copyId, 'HardDelete'))).body });
    docs.push({ name: 'deletefolder-distinguished', xml: (await post(sim, buildDeleteFolder(w, sim.folder('inbox')!.id, 'HardDelete'))).body });
    docs.push({ name: 'deletefolder-ok', xml: (await post(sim, buildDeleteFolder(w, scratch, 'HardDelete'))).body });
    sim.script('UpdateItem', { error: 'ErrorServerBusy', backOffMs: 100 });
    docs.push({ name: 'updateitem-scripted-error', xml: (await post(sim, buildUpdateItem(w, { id: draftId }, { isRead: true }))).body });

    sim.sent.forEach((s, i) => docs.push({ name: `stream-${i}-${s.kind}`, xml: s.xml }));
  } finally {
    await sim.close();
  }

  const kinds = new Set(docs.map((d) => d.name.replace(/^stream-\d+-/, 'stream-')));
  assert.deepEqual([...kinds].filter((k) => k.startsWith('stream-')).sort(), ['stream-closed', 'stream-error', 'stream-heartbeat', 'stream-notification']);
  const eventKinds = new Set(docs.flatMap((d) => elementsOf(d.xml).filter((e) => e.path.at(-2) === 'Notification' && e.local !== 'SubscriptionId').map((e) => e.local)));
  assert.deepEqual([...eventKinds].sort(), ['CopiedEvent', 'CreatedEvent', 'DeletedEvent', 'ModifiedEvent', 'MovedEvent', 'NewMailEvent']);
  for (const doc of docs) {
    if (doc.name.startsWith('stream-')) assert.deepEqual(splitEnvelopes(doc.xml), [doc.xml], `${doc.name} is exactly one envelope`);
  }

  if (!schemaDir) {
    t.skip('../shared not found: set EWS_WATCH_SHARED or check out ../shared to validate against the EWS schema');
    return;
  }
  const payloads = docs.map((d) => ({ name: d.name, xml: extractBodyPayload(d.xml) }));
  const result = await validatePayloads(schemaDir, payloads);
  assert.deepEqual(result.errors, []);
  assert.equal(result.valid, true);
});

test('the schema check itself rejects an invalid payload (guards against a vacuous pass)', async (t) => {
  const schemaDir = findSchemaDir();
  if (!schemaDir) return t.skip('../shared not found: set EWS_WATCH_SHARED or check out ../shared');
  const bad =
    '<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><soap11:Body xmlns:soap11="http://schemas.xmlsoap.org/soap/envelope/">' +
    '<m:GetStreamingEventsResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages>' +
    '<m:GetStreamingEventsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:ConnectionStatus>closed</m:ConnectionStatus>' +
    '</m:GetStreamingEventsResponseMessage></m:ResponseMessages></m:GetStreamingEventsResponse></soap11:Body></Envelope>';
  const result = await validatePayloads(schemaDir, [{ name: 'bad', xml: extractBodyPayload(bad) }]);
  assert.equal(result.valid, false);
  assert.match(result.errors.join('\n'), /ConnectionStatus/);
});
