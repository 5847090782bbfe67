// GetItem and GetFolder: request shapes (and their schema validity), then the decoders on batches in Exchange's shapes
// (protocol-notes.md §8), with errors in the middle of a batch, untrusted text and bad values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MT_NAMESPACES, REQUEST_HEAD as HEAD, REQUEST_TAIL as TAIL } from '../support/soap.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EwsResponseError, ProtocolError, UsageError } from '../../src/errors.js';
import { buildGetFolder, buildGetItem, decodeGetFolderResponse, decodeGetItemResponse, DETAIL_FIELDS } from '../../src/ews/items.js';
import { DEFAULT_SERVER_VERSION } from '../../src/ews/requests.js';
import { MAX_RESPONSE_BYTES } from '../../src/ews/responses.js';
import type { RequestContext } from '../../src/ews/types.js';
import { validateEwsRequest, validateEwsRequests, type SchemaResult } from '../support/schema.js';
import { sharedDir } from '../support/shared.js';

const ctx: RequestContext = { serverVersion: DEFAULT_SERVER_VERSION };
const ID1 = 'AAMkADkzNjJjODUzLWZhMDMtNDVkMS05ZDdjLWVmMDlkYjQ1Zjc4MwBGAAAAAABSSWVKrmGUTJE+MVIvofglBwDZGACZQpSgSpyNkexYe2b7AAAAAAEMAADZGACZQpSgSpyNkexYe2b7AAAbvSQFAAA=';
const FOLDER_ID = 'AAMkADkzNjJjODUzLWZhMDMtNDVkMS05ZDdjLWVmMDlkYjQ1Zjc4MwAuAAAAAABSSWVKrmGUTJE+MVIvofglAQDZGACZQpSgSpyNkexYe2b7AAAAAAEMAAA=';

// ---- requests

const FIELDS_XML =
  '<t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/><t:FieldURI FieldURI="message:From"/><t:FieldURI FieldURI="message:ToRecipients"/>' +
  '<t:FieldURI FieldURI="item:DateTimeReceived"/><t:FieldURI FieldURI="message:IsRead"/><t:FieldURI FieldURI="item:HasAttachments"/>' +
  '<t:FieldURI FieldURI="item:Importance"/><t:FieldURI FieldURI="item:Size"/><t:FieldURI FieldURI="message:InternetMessageId"/>' +
  '<t:FieldURI FieldURI="item:ItemClass"/></t:AdditionalProperties>';

test('DETAIL_FIELDS: the ten FieldURIs, frozen', () => {
  assert.deepEqual(DETAIL_FIELDS, [
    'item:Subject', 'message:From', 'message:ToRecipients', 'item:DateTimeReceived', 'message:IsRead',
    'item:HasAttachments', 'item:Importance', 'item:Size', 'message:InternetMessageId', 'item:ItemClass',
  ]);
  assert.ok(Object.isFrozen(DETAIL_FIELDS));
});

test('buildGetItem: IdOnly then AdditionalProperties in ItemShape, one ItemId per id, ids escaped', () => {
  assert.equal(
    buildGetItem(ctx, [ID1]),
    `${HEAD}<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>${FIELDS_XML}</m:ItemShape><m:ItemIds><t:ItemId Id="${ID1}"/></m:ItemIds></m:GetItem>${TAIL}`,
  );
  assert.match(buildGetItem(ctx, ['a', 'b"<&>']), /<m:ItemIds><t:ItemId Id="a"\/><t:ItemId Id="b&quot;&lt;&amp;&gt;"\/><\/m:ItemIds>/);
});

test('buildGetItem and buildGetFolder: no ids, a blank id or an unknown folder name is a UsageError', () => {
  assert.throws(() => buildGetItem(ctx, []), (e: unknown) => e instanceof UsageError && /at least one item id/.test(e.message));
  assert.throws(() => buildGetItem(ctx, ['a', '']), /the item id is empty/);
  assert.throws(() => buildGetFolder(ctx, []), (e: unknown) => e instanceof UsageError && /at least one folder/.test(e.message));
  assert.throws(() => buildGetFolder(ctx, [{ kind: 'distinguished', name: 'Posteingang' }]), /not a distinguished folder name/);
  assert.throws(() => buildGetItem({ serverVersion: 'Exchange2013', impersonate: ' ' }, ['a']), /mailbox to impersonate is empty/);
});

test('buildGetFolder: IdOnly plus DisplayName, ParentFolderId and UnreadCount, distinguished names and FolderIds', () => {
  assert.equal(
    buildGetFolder(ctx, [{ kind: 'distinguished', name: 'Inbox' }, { kind: 'id', id: FOLDER_ID }]),
    `${HEAD}<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="folder:DisplayName"/>` +
      '<t:FieldURI FieldURI="folder:ParentFolderId"/><t:FieldURI FieldURI="folder:UnreadCount"/></t:AdditionalProperties></m:FolderShape>' +
      `<m:FolderIds><t:DistinguishedFolderId Id="inbox"/><t:FolderId Id="${FOLDER_ID}"/></m:FolderIds></m:GetFolder>${TAIL}`,
  );
});

const requests: [string, string][] = [
  ['GetItem: one id', buildGetItem(ctx, [ID1])],
  ['GetItem: ten ids', buildGetItem(ctx, Array.from({ length: 10 }, (_, i) => `${ID1.slice(0, -4)}${i}AA=`))],
  ['GetItem: impersonation', buildGetItem({ serverVersion: 'Exchange2016', impersonate: 'alisa@contoso.com' }, [ID1, 'AAMk2'])],
  ['GetFolder: inbox and a FolderId', buildGetFolder(ctx, [{ kind: 'distinguished', name: 'inbox' }, { kind: 'id', id: FOLDER_ID }])],
  ['GetFolder: impersonation', buildGetFolder({ serverVersion: 'Exchange2010_SP1', impersonate: 'bob@contoso.com' }, [{ kind: 'distinguished', name: 'msgfolderroot' }])],
];

// Validated together in one xmllint run (each run parses the schemas again, about half a second), on first use;
// each test still asserts its own request's result.
let checked: Promise<SchemaResult[]> | undefined;
requests.forEach(([name, xml], i) => {
  test(`schema: ${name} is valid (Body and Header)`, async (t) => {
    if (!sharedDir()) return t.skip('../shared not found: schema validation skipped');
    checked ??= validateEwsRequests(requests.map(([, x]) => x), { header: true });
    assert.deepEqual((await checked)[i], { valid: true, errors: [] }, xml);
  });
});

test('schema: AdditionalProperties before BaseShape would be caught', async (t) => {
  if (!sharedDir()) return t.skip('../shared not found: schema validation skipped');
  const good = buildGetItem(ctx, [ID1]);
  const bad = good.replace(`<t:BaseShape>IdOnly</t:BaseShape>${FIELDS_XML}`, `${FIELDS_XML}<t:BaseShape>IdOnly</t:BaseShape>`);
  assert.notEqual(bad, good);
  assert.equal((await validateEwsRequest(bad)).valid, false);
});

// ---- answers

const NS = MT_NAMESPACES;
const answer = (op: string, messages: string): string =>
  '<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>' +
  '<h:ServerVersionInfo MajorVersion="15" MinorVersion="20" MajorBuildNumber="8769" MinorBuildNumber="35" Version="V2018_01_08" ' +
  'xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types"/></s:Header>' +
  `<s:Body><m:${op}Response ${NS}><m:ResponseMessages>${messages}</m:ResponseMessages></m:${op}Response></s:Body></s:Envelope>`;
const ok = (inner: string): string => `<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items>${inner}</m:Items></m:GetItemResponseMessage>`;
const notFound =
  '<m:GetItemResponseMessage ResponseClass="Error"><m:MessageText>The specified object was not found in the store., The process failed to get the correct properties.</m:MessageText>' +
  '<m:ResponseCode>ErrorItemNotFound</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:Items/></m:GetItemResponseMessage>';

// Exchange's element order for a Message (ItemType's sequence, then MessageType's).
const MESSAGE =
  `<t:Message><t:ItemId Id="${ID1}" ChangeKey="CQAAABYAAADZGACZQpSgSpyNkexYe2b7AAAbvSbE"/><t:ItemClass>IPM.Note</t:ItemClass>` +
  '<t:Subject>Re: Angebot für Müller &amp; Söhne — 請求書 &lt;dringend&gt; 🚀</t:Subject>' +
  '<t:DateTimeReceived>2024-05-14T09:41:07Z</t:DateTimeReceived><t:Size>48213</t:Size><t:Importance>High</t:Importance>' +
  '<t:HasAttachments>true</t:HasAttachments>' +
  '<t:ToRecipients><t:Mailbox><t:Name>Alisa Kovač</t:Name><t:EmailAddress>alisa@contoso.com</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType><t:MailboxType>Mailbox</t:MailboxType></t:Mailbox>' +
  '<t:Mailbox><t:Name>Sales</t:Name><t:EmailAddress>sales@contoso.com</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType><t:MailboxType>PublicDL</t:MailboxType></t:Mailbox></t:ToRecipients>' +
  '<t:From><t:Mailbox><t:Name>O\'Brien, Seán</t:Name><t:EmailAddress>sean.obrien@fabrikam.example</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType><t:MailboxType>OneOff</t:MailboxType></t:Mailbox></t:From>' +
  '<t:InternetMessageId>&lt;DB9PR04MB8425.eurprd04.prod.outlook.com&gt;</t:InternetMessageId><t:IsRead>false</t:IsRead></t:Message>';
const MESSAGE_DETAILS = {
  changeKey: 'CQAAABYAAADZGACZQpSgSpyNkexYe2b7AAAbvSbE',
  itemClass: 'IPM.Note',
  subject: 'Re: Angebot für Müller & Söhne — 請求書 <dringend> 🚀',
  receivedAt: '2024-05-14T09:41:07Z',
  size: 48213,
  importance: 'High',
  hasAttachments: true,
  to: [
    { name: 'Alisa Kovač', address: 'alisa@contoso.com' },
    { name: 'Sales', address: 'sales@contoso.com' },
  ],
  from: { name: "O'Brien, Seán", address: 'sean.obrien@fabrikam.example' },
  internetMessageId: '<DB9PR04MB8425.eurprd04.prod.outlook.com>',
  isRead: false,
};
const MEETING =
  '<t:MeetingRequest><t:ItemId Id="AAMk3" ChangeKey="CwAAAB"/><t:ItemClass>IPM.Schedule.Meeting.Request</t:ItemClass><t:Subject>Weekly sync</t:Subject>' +
  '<t:HasAttachments>false</t:HasAttachments><t:From><t:Mailbox><t:EmailAddress>noreply@contoso.com</t:EmailAddress></t:Mailbox></t:From><t:IsRead>true</t:IsRead></t:MeetingRequest>';
const BATCH = answer('GetItem', ok(MESSAGE) + notFound + ok(MEETING));

test('decodeGetItemResponse: a batch of three, ErrorItemNotFound in the middle, results in order', () => {
  assert.deepEqual(decodeGetItemResponse(BATCH), [
    { ok: true, itemId: ID1, details: MESSAGE_DETAILS },
    { ok: false, responseCode: 'ErrorItemNotFound', message: 'The specified object was not found in the store., The process failed to get the correct properties.' },
    {
      ok: true,
      itemId: 'AAMk3',
      details: { changeKey: 'CwAAAB', itemClass: 'IPM.Schedule.Meeting.Request', subject: 'Weekly sync', hasAttachments: false, from: { address: 'noreply@contoso.com' }, isRead: true },
    },
  ]);
});

test('decodeGetItemResponse: a placeholder ChangeKey (the type prefix alone) is left out of the details', () => {
  const placeholder = answer('GetItem', ok('<t:Message><t:ItemId Id="AAMk4" ChangeKey="CQAAAA=="/><t:Subject>s</t:Subject></t:Message>'));
  assert.deepEqual(decodeGetItemResponse(placeholder), [{ ok: true, itemId: 'AAMk4', details: { subject: 's' } }]);
});

test('decodeGetItemResponse: other prefixes and default namespaces read the same', () => {
  const unprefixed = BATCH.replace(/<(\/?)[mt]:/g, '<$1').replace(NS, 'xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"');
  const renamed = BATCH.replace(/<(\/?)s:/g, '<$1soap:').replace(/<(\/?)m:/g, '<$1msg:').replace('xmlns:m=', 'xmlns:msg=');
  assert.deepEqual(decodeGetItemResponse(unprefixed), decodeGetItemResponse(BATCH));
  assert.deepEqual(decodeGetItemResponse(renamed), decodeGetItemResponse(BATCH));
});

test('decodeGetItemResponse: any item type, human text kept as sent, CDATA read, empty To list', () => {
  const items = [
    '<t:CalendarItem><t:ItemId Id="C1"/><t:Subject>  Stand-up\tdaily </t:Subject><t:Importance>Normal</t:Importance></t:CalendarItem>',
    '<t:Contact><t:ItemId Id="C2"/><t:Subject><![CDATA[a <b> & c]]></t:Subject></t:Contact>',
    '<t:Task><t:ItemId Id="C3"/><t:Subject/></t:Task>',
    '<t:Item><t:ItemId Id="C4"/><t:ItemClass> IPM.Note.Custom </t:ItemClass></t:Item>',
    '<t:Message><t:ItemId Id="C5"/><t:ToRecipients/><t:From><t:Mailbox><t:Name>Only A Name</t:Name></t:Mailbox></t:From></t:Message>',
  ];
  assert.deepEqual(
    decodeGetItemResponse(answer('GetItem', items.map(ok).join(''))).map((r) => (r.ok ? [r.itemId, r.details] : r)),
    [
      ['C1', { subject: '  Stand-up\tdaily ', importance: 'Normal' }],
      ['C2', { subject: 'a <b> & c' }],
      ['C3', { subject: '' }],
      ['C4', { itemClass: 'IPM.Note.Custom' }],
      ['C5', { to: [], from: { name: 'Only A Name' } }],
    ],
  );
});

test('decodeGetItemResponse: numbers and booleans parsed strictly, a bad one leaves its field out', () => {
  const bad = (size: string, flag: string): string =>
    ok(`<t:Message><t:ItemId Id="N"/><t:Size>${size}</t:Size><t:HasAttachments>${flag}</t:HasAttachments><t:IsRead>${flag}</t:IsRead></t:Message>`);
  const details = (size: string, flag: string): unknown => {
    const [r] = decodeGetItemResponse(answer('GetItem', bad(size, flag)));
    return r.ok ? r.details : r;
  };
  for (const size of ['-1', '12.5', '1e3', '0x10', '12 KB', '', '99999999999999999999']) assert.deepEqual(details(size, 'yes'), {}, size);
  assert.deepEqual(details(' 007 ', '1'), { size: 7, hasAttachments: true, isRead: true });
  assert.deepEqual(details('0', '0'), { size: 0, hasAttachments: false, isRead: false });
});

test('decodeGetItemResponse: ErrorServerBusy in a message keeps its back-off; Warning with NoError is a success', () => {
  const busy =
    '<m:GetItemResponseMessage ResponseClass="Error"><m:MessageText>The server cannot service this request right now. Try again later.</m:MessageText>' +
    '<m:ResponseCode>ErrorServerBusy</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>' +
    '<m:MessageXml><t:Value Name="BackOffMilliseconds">299984</t:Value></m:MessageXml></m:GetItemResponseMessage>';
  const warning = '<m:GetItemResponseMessage ResponseClass="Warning"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Message><t:ItemId Id="W"/></t:Message></m:Items></m:GetItemResponseMessage>';
  assert.deepEqual(decodeGetItemResponse(answer('GetItem', busy + warning)), [
    { ok: false, responseCode: 'ErrorServerBusy', message: 'The server cannot service this request right now. Try again later.', backOffMs: 299984 },
    { ok: true, itemId: 'W', details: {} },
  ]);
});

test('decodeGetItemResponse: a SOAP fault throws; malformed or oversized answers are ProtocolErrors', () => {
  const fault =
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorInvalidIdMalformed</faultcode>' +
    '<faultstring>Id is malformed.</faultstring></s:Fault></s:Body></s:Envelope>';
  assert.throws(() => decodeGetItemResponse(fault), (e: unknown) => e instanceof EwsResponseError && e.responseCode === 'ErrorInvalidIdMalformed' && e.message === 'ErrorInvalidIdMalformed: Id is malformed.');
  const protocol = (xml: string, message: RegExp): void => {
    assert.throws(() => decodeGetItemResponse(xml), (e: unknown) => e instanceof ProtocolError && message.test(e.message));
  };
  protocol('Service Unavailable', /not well-formed XML: "Service Unavailable"/);
  protocol(answer('GetItem', ok('')), /no item with an ItemId/);
  protocol(answer('GetItem', ok('<t:Message><t:Subject>x</t:Subject></t:Message>')), /no item with an ItemId/);
  protocol(answer('GetItem', '<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode></m:GetItemResponseMessage>'), /no item with an ItemId/);
  protocol(answer('GetItem', ''), /GetItem answer has no response message/);
  protocol(BATCH.replace('<m:Items>', `<m:Items>${'\n'.repeat(MAX_RESPONSE_BYTES)}`), /larger than 8388608 bytes/);
});

// ---- GetFolder

const folderOk = (inner: string): string =>
  `<m:GetFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Folders>${inner}</m:Folders></m:GetFolderResponseMessage>`;
const FOLDERS = answer(
  'GetFolder',
  folderOk(`<t:Folder><t:FolderId Id="${FOLDER_ID}" ChangeKey="AQAAABYAAAA"/><t:ParentFolderId Id="AQMkROOT" ChangeKey="AQAAAA=="/><t:DisplayName>Posteingang</t:DisplayName><t:UnreadCount>7</t:UnreadCount></t:Folder>`) +
    '<m:GetFolderResponseMessage ResponseClass="Error"><m:MessageText>The specified folder could not be found in the store.</m:MessageText>' +
    '<m:ResponseCode>ErrorFolderNotFound</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:GetFolderResponseMessage>' +
    folderOk('<t:CalendarFolder><t:FolderId Id="CAL"/><t:DisplayName>Kalender &amp; Termine</t:DisplayName></t:CalendarFolder>') +
    // A count that is no whole number is left out.
    folderOk('<t:Folder><t:FolderId Id="ODD"/><t:DisplayName>Odd</t:DisplayName><t:UnreadCount>-1</t:UnreadCount></t:Folder>'),
);

test('decodeGetFolderResponse: folders and an error, in order', () => {
  assert.deepEqual(decodeGetFolderResponse(FOLDERS), [
    { ok: true, folderId: FOLDER_ID, changeKey: 'AQAAABYAAAA', parentFolderId: 'AQMkROOT', displayName: 'Posteingang', unreadCount: 7 },
    { ok: false, responseCode: 'ErrorFolderNotFound', message: 'The specified folder could not be found in the store.' },
    { ok: true, folderId: 'CAL', displayName: 'Kalender & Termine' },
    { ok: true, folderId: 'ODD', displayName: 'Odd' },
  ]);
  assert.throws(() => decodeGetFolderResponse(answer('GetFolder', folderOk('<t:Folder><t:DisplayName>x</t:DisplayName></t:Folder>'))), /no folder with a FolderId/);
});

test('fixtures: the hand-written answers are valid against the schema', async (t) => {
  if (!sharedDir()) return t.skip('../shared not found: schema validation skipped');
  assert.deepEqual(await validateEwsRequests([BATCH, FOLDERS]), [{ valid: true, errors: [] }, { valid: true, errors: [] }]);
});

test('shared: the exchangelib ErrorServerBusy fault thrown from decodeGetItemResponse and decodeGetFolderResponse', (t) => {
  const dir = sharedDir();
  if (!dir) return t.skip('../shared not found: exchangelib-errorserverbusy-fault.xml skipped');
  const xml = readFileSync(join(dir, 'ews-samples', 'exchangelib-errorserverbusy-fault.xml'), 'utf8');
  for (const decode of [decodeGetItemResponse, decodeGetFolderResponse]) {
    assert.throws(() => decode(xml), (e: unknown) => e instanceof EwsResponseError && e.responseCode === 'ErrorServerBusy' && e.backOffMs === 297749);
  }
});

// Issue 10, item 1: an absurd id in an answer to our own ids means a broken server; the answer is refused whole.
test('decodeGetItemResponse and decodeGetFolderResponse: an absurd ItemId, ChangeKey or FolderId refuses the answer (ProtocolError)', () => {
  const A = 'A'.repeat(3_000_000);
  const cases: [() => unknown, RegExp][] = [
    [() => decodeGetItemResponse(answer('GetItem', ok(MESSAGE.replace(ID1, A)))), /the server's GetItem answer has an absurd ItemId \(3000000 characters\)/],
    [() => decodeGetItemResponse(answer('GetItem', ok(MEETING.replace('CwAAAB', 'C'.repeat(1025))))), /GetItem answer has an absurd ItemId ChangeKey \(1025 characters\)/],
    [() => decodeGetFolderResponse(answer('GetFolder', folderOk(`<t:Folder><t:FolderId Id="${A}"/></t:Folder>`))), /GetFolder answer has an absurd FolderId \(3000000 characters\)/],
    [() => decodeGetFolderResponse(answer('GetFolder', folderOk(`<t:Folder><t:FolderId Id="F"/><t:ParentFolderId Id="${A}"/></t:Folder>`))), /absurd ParentFolderId/],
  ];
  for (const [fn, message] of cases) {
    assert.throws(fn, (err: unknown) => err instanceof ProtocolError && message.test(err.message) && err.message.length < 200);
  }
});
