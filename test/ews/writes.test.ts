// The write calls' pure codec (src/ews/writes.ts): what each builder puts in the request, and how answers shaped
// like Exchange's (the samples of Microsoft's CreateFolder, DeleteFolder, FindFolder, CreateItem, UpdateItem,
// MoveItem, CopyItem and DeleteItem operation pages, rewritten here) decode, errors and "not found" included.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EwsResponseError, ProtocolError, UsageError } from '../../src/errors.js';
import {
  buildCreateFolder,
  buildCreateItem,
  buildDeleteFolder,
  buildDeleteItem,
  buildFindFolder,
  buildMoveCopyItem,
  buildUpdateItem,
  decodeCreateFolderResponse,
  decodeDeleteResponse,
  decodeFindFolderResponse,
  decodeItemIdResponse,
  supportsItemFlag,
} from '../../src/ews/writes.js';

const ctx = { serverVersion: 'Exchange2013_SP1' };
const body = (xml: string): string => /<soap:Body>(.*)<\/soap:Body>/s.exec(xml)![1]!;

/** An answer as Exchange writes one: declaration, ServerVersionInfo, s:/m:/t: prefixes. */
function answer(operation: string, messages: string): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>' +
    '<h:ServerVersionInfo MajorVersion="15" MinorVersion="20" MajorBuildNumber="7249" MinorBuildNumber="23" Version="V2018_01_08" ' +
    'xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types" xmlns="http://schemas.microsoft.com/exchange/services/2006/types"/>' +
    '</s:Header><s:Body><m:' + operation + 'Response xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" ' +
    'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages>' + messages +
    `</m:ResponseMessages></m:${operation}Response></s:Body></s:Envelope>`
  );
}
const success = (operation: string, content = ''): string => `<m:${operation}ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>${content}</m:${operation}ResponseMessage>`;
const failure = (operation: string, code: string, text: string, content = ''): string =>
  `<m:${operation}ResponseMessage ResponseClass="Error"><m:MessageText>${text}</m:MessageText><m:ResponseCode>${code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>${content}</m:${operation}ResponseMessage>`;

const FOLDER = 'AAMkAGE0ZjY1LTNjNmQtNDQ5YS1iODE4LWEwYWFiMDc4NmNiZQAuAAAAAAC8cELzUnmtQapMlGcbvbfqAQDv1nJ+AAA=';
const ITEM = 'AAMkAGE0ZjY1LTNjNmQtNDQ5YS1iODE4LWEwYWFiMDc4NmNiZQBGAAAAAAC8cELzUnmtQapMlGcbvbfqBwDv1nJ+AAAB';
const KEY = 'CQAAABYAAADv1nJ+VcSsT6lY8W0ZsU6iAAAAAARu';

describe('builders', () => {
  test('CreateFolder: a mail folder (FolderClass before DisplayName) under a distinguished parent; the name escaped', () => {
    assert.equal(
      body(buildCreateFolder(ctx, { kind: 'distinguished', name: 'MsgFolderRoot' }, 'ews-watch <conformance> & "you"')),
      '<m:CreateFolder><m:ParentFolderId><t:DistinguishedFolderId Id="msgfolderroot"/></m:ParentFolderId><m:Folders><t:Folder>' +
        '<t:FolderClass>IPF.Note</t:FolderClass><t:DisplayName>ews-watch &lt;conformance&gt; &amp; &quot;you&quot;</t:DisplayName></t:Folder></m:Folders></m:CreateFolder>',
    );
    assert.throws(() => buildCreateFolder(ctx, { kind: 'distinguished', name: 'msgfolderroot' }, '  '), UsageError);
  });

  test('DeleteFolder and DeleteItem: the DeleteType as given, one id; an unknown mode is a UsageError', () => {
    assert.equal(body(buildDeleteFolder(ctx, FOLDER, 'HardDelete')), `<m:DeleteFolder DeleteType="HardDelete"><m:FolderIds><t:FolderId Id="${FOLDER}"/></m:FolderIds></m:DeleteFolder>`);
    assert.equal(body(buildDeleteItem(ctx, ITEM, 'MoveToDeletedItems')), `<m:DeleteItem DeleteType="MoveToDeletedItems"><m:ItemIds><t:ItemId Id="${ITEM}"/></m:ItemIds></m:DeleteItem>`);
    assert.match(body(buildDeleteItem(ctx, ITEM, 'SoftDelete')), /DeleteType="SoftDelete"/);
    assert.throws(() => buildDeleteItem(ctx, ITEM, 'Purge' as never), /DeleteType must be HardDelete, SoftDelete or MoveToDeletedItems/);
  });

  test('FindFolder: Shallow, IdOnly + DisplayName, an indexed page, the parent', () => {
    assert.equal(
      body(buildFindFolder(ctx, { kind: 'distinguished', name: 'msgfolderroot' }, 500)),
      '<m:FindFolder Traversal="Shallow"><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="folder:DisplayName"/></t:AdditionalProperties></m:FolderShape>' +
        '<m:IndexedPageFolderView MaxEntriesReturned="500" Offset="500" BasePoint="Beginning"/><m:ParentFolderIds><t:DistinguishedFolderId Id="msgfolderroot"/></m:ParentFolderIds></m:FindFolder>',
    );
    assert.throws(() => buildFindFolder(ctx, { kind: 'id', id: FOLDER }, -1), UsageError);
  });

  test('CreateItem: SaveOnly into the folder, a t:Message with Subject and a text Body', () => {
    assert.equal(
      body(buildCreateItem(ctx, FOLDER, { subject: 'a & b', body: 'one\ntwo' })),
      `<m:CreateItem MessageDisposition="SaveOnly"><m:SavedItemFolderId><t:FolderId Id="${FOLDER}"/></m:SavedItemFolderId>` +
        '<m:Items><t:Message><t:Subject>a &amp; b</t:Subject><t:Body BodyType="Text">one&#10;two</t:Body></t:Message></m:Items></m:CreateItem>',
    );
    assert.doesNotMatch(buildCreateItem(ctx, FOLDER, { subject: 'x' }), /<t:Body/);
  });

  test('UpdateItem: AlwaysOverwrite + SaveOnly, the ChangeKey sent, one SetItemField per change', () => {
    assert.equal(
      body(buildUpdateItem(ctx, { id: ITEM, changeKey: KEY }, { isRead: false, subject: 'S', flag: 'Complete' })),
      `<m:UpdateItem MessageDisposition="SaveOnly" ConflictResolution="AlwaysOverwrite"><m:ItemChanges><t:ItemChange><t:ItemId Id="${ITEM}" ChangeKey="${KEY}"/><t:Updates>` +
        '<t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:Message><t:Subject>S</t:Subject></t:Message></t:SetItemField>' +
        '<t:SetItemField><t:FieldURI FieldURI="item:Flag"/><t:Message><t:Flag><t:FlagStatus>Complete</t:FlagStatus></t:Flag></t:Message></t:SetItemField>' +
        '<t:SetItemField><t:FieldURI FieldURI="message:IsRead"/><t:Message><t:IsRead>false</t:IsRead></t:Message></t:SetItemField>' +
        '</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>',
    );
    assert.throws(() => buildUpdateItem(ctx, { id: ITEM }, {}), /at least one change/);
  });

  test('UpdateItem: the flag as item:Flag from Exchange2013 on, as PidTagFlagStatus (0x1090) before (t:Flag is 2013+)', () => {
    assert.deepEqual(['Exchange2010_SP1', 'Exchange2010_SP2', 'Exchange2013', 'Exchange2013_SP1', 'Exchange2016'].map(supportsItemFlag), [false, false, true, true, true]);
    const old = { serverVersion: 'Exchange2010_SP1' };
    assert.match(
      body(buildUpdateItem(old, { id: ITEM }, { flag: 'Flagged' })),
      /<t:SetItemField><t:ExtendedFieldURI PropertyTag="0x1090" PropertyType="Integer"\/><t:Message><t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="0x1090" PropertyType="Integer"\/><t:Value>2<\/t:Value><\/t:ExtendedProperty><\/t:Message><\/t:SetItemField>/,
    );
    assert.match(body(buildUpdateItem(old, { id: ITEM }, { flag: 'Complete' })), /<t:Value>1<\/t:Value>/);
    assert.match(body(buildUpdateItem(old, { id: ITEM }, { flag: 'NotFlagged' })), /<t:Updates><t:DeleteItemField><t:ExtendedFieldURI PropertyTag="0x1090" PropertyType="Integer"\/><\/t:DeleteItemField><\/t:Updates>/);
    assert.doesNotMatch(buildUpdateItem(old, { id: ITEM }, { flag: 'Flagged' }), /item:Flag/);
  });

  test('MoveItem and CopyItem: ToFolderId then ItemIds; no ReturnNewItemIds (2010 SP1+ returns the id anyway)', () => {
    assert.equal(body(buildMoveCopyItem(ctx, 'MoveItem', ITEM, FOLDER)), `<m:MoveItem><m:ToFolderId><t:FolderId Id="${FOLDER}"/></m:ToFolderId><m:ItemIds><t:ItemId Id="${ITEM}"/></m:ItemIds></m:MoveItem>`);
    assert.match(body(buildMoveCopyItem(ctx, 'CopyItem', ITEM, FOLDER)), /^<m:CopyItem><m:ToFolderId>/);
  });
});

describe('decoders', () => {
  test('CreateFolder: the new FolderId with its ChangeKey', () => {
    const xml = answer('CreateFolder', success('CreateFolder', `<m:Folders><t:Folder><t:FolderId Id="${FOLDER}" ChangeKey="AQAAABYAAADv1nJ+VcSsT6lY8W0ZsU6iAAAAAAQ+"/></t:Folder></m:Folders>`));
    assert.deepEqual(decodeCreateFolderResponse(xml), { id: FOLDER, changeKey: 'AQAAABYAAADv1nJ+VcSsT6lY8W0ZsU6iAAAAAAQ+' });
  });

  test('CreateFolder: ErrorFolderExists throws EwsResponseError naming the operation', () => {
    const xml = answer('CreateFolder', failure('CreateFolder', 'ErrorFolderExists', 'A folder with the specified name already exists.', '<m:Folders/>'));
    assert.throws(() => decodeCreateFolderResponse(xml), (e: unknown) => e instanceof EwsResponseError && e.responseCode === 'ErrorFolderExists' && e.message === 'CreateFolder: ErrorFolderExists: A folder with the specified name already exists.');
  });

  test('CreateItem, UpdateItem (with ConflictResults), MoveItem, CopyItem: the item id with its new ChangeKey', () => {
    const item = `<m:Items><t:Message><t:ItemId Id="${ITEM}" ChangeKey="${KEY}"/></t:Message></m:Items>`;
    for (const op of ['CreateItem', 'MoveItem', 'CopyItem'] as const) assert.deepEqual(decodeItemIdResponse(answer(op, success(op, item)), op), { id: ITEM, changeKey: KEY });
    const updated = answer('UpdateItem', success('UpdateItem', `${item}<m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>`));
    assert.deepEqual(decodeItemIdResponse(updated, 'UpdateItem'), { id: ITEM, changeKey: KEY });
  });

  test('MoveItem answered with empty Items (Exchange 2010 RTM, a move to another mailbox): a ProtocolError, no id guessed', () => {
    assert.throws(() => decodeItemIdResponse(answer('MoveItem', success('MoveItem', '<m:Items/>')), 'MoveItem'), (e: unknown) => e instanceof ProtocolError && /MoveItem answer has no ItemId/.test(e.message));
  });

  test('UpdateItem: ErrorIrresolvableConflict and ErrorItemNotFound throw; a fault throws too', () => {
    const conflict = answer('UpdateItem', failure('UpdateItem', 'ErrorIrresolvableConflict', 'The change key passed in the request does not match.', '<m:Items/>'));
    assert.throws(() => decodeItemIdResponse(conflict, 'UpdateItem'), (e: unknown) => e instanceof EwsResponseError && e.responseCode === 'ErrorIrresolvableConflict');
    const gone = answer('UpdateItem', failure('UpdateItem', 'ErrorItemNotFound', 'The specified object was not found in the store.', '<m:Items/>'));
    assert.throws(() => decodeItemIdResponse(gone, 'UpdateItem'), (e: unknown) => e instanceof EwsResponseError && e.responseCode === 'ErrorItemNotFound');
  });

  test('DeleteItem and DeleteFolder: NoError deleted; ErrorItemNotFound / ErrorFolderNotFound already gone; anything else throws', () => {
    assert.equal(decodeDeleteResponse(answer('DeleteItem', success('DeleteItem')), 'DeleteItem'), 'deleted');
    assert.equal(decodeDeleteResponse(answer('DeleteFolder', success('DeleteFolder')), 'DeleteFolder'), 'deleted');
    assert.equal(decodeDeleteResponse(answer('DeleteItem', failure('DeleteItem', 'ErrorItemNotFound', 'The specified object was not found in the store.')), 'DeleteItem'), 'already-gone');
    assert.equal(decodeDeleteResponse(answer('DeleteFolder', failure('DeleteFolder', 'ErrorFolderNotFound', 'The specified folder could not be found in the store.')), 'DeleteFolder'), 'already-gone');
    assert.equal(decodeDeleteResponse(answer('DeleteFolder', failure('DeleteFolder', 'ErrorItemNotFound', 'The specified object was not found in the store.')), 'DeleteFolder'), 'already-gone');
    const distinguished = answer('DeleteFolder', failure('DeleteFolder', 'ErrorDeleteDistinguishedFolder', 'Distinguished folders cannot be deleted.'));
    assert.throws(() => decodeDeleteResponse(distinguished, 'DeleteFolder'), (e: unknown) => e instanceof EwsResponseError && e.responseCode === 'ErrorDeleteDistinguishedFolder' && /^DeleteFolder: /.test(e.message));
    const busy = answer('DeleteItem', failure('DeleteItem', 'ErrorServerBusy', 'The server cannot service this request right now.', '<m:MessageXml><t:Value Name="BackOffMilliseconds">5000</t:Value></m:MessageXml>'));
    assert.throws(() => decodeDeleteResponse(busy, 'DeleteItem'), (e: unknown) => e instanceof EwsResponseError && e.backOffMs === 5000);
  });

  test('FindFolder: the folders of the page (any folder element), IncludesLastItemInRange, the next offset', () => {
    const folders =
      `<t:Folder><t:FolderId Id="${FOLDER}" ChangeKey="AQAAAA=="/><t:DisplayName>ews-watch conformance 2026-12-02 03:10 #a1b2</t:DisplayName></t:Folder>` +
      '<t:CalendarFolder><t:FolderId Id="AAMkAGE0ZjY1Cal=" ChangeKey="AgAAAA=="/><t:DisplayName>Calendar</t:DisplayName></t:CalendarFolder>' +
      '<t:Folder><t:DisplayName>no id</t:DisplayName></t:Folder><t:Folder><t:FolderId Id="AAMkAGE0ZjY1NoName="/></t:Folder>';
    const page = answer('FindFolder', success('FindFolder', `<m:RootFolder IndexedPagingOffset="4" TotalItemsInView="9" IncludesLastItemInRange="false"><t:Folders>${folders}</t:Folders></m:RootFolder>`));
    assert.deepEqual(decodeFindFolderResponse(page), {
      folders: [
        { id: FOLDER, displayName: 'ews-watch conformance 2026-12-02 03:10 #a1b2' },
        { id: 'AAMkAGE0ZjY1Cal=', displayName: 'Calendar' },
        { id: 'AAMkAGE0ZjY1NoName=', displayName: '' },
      ],
      includesLast: false,
      nextOffset: 4,
    });
    const last = answer('FindFolder', success('FindFolder', '<m:RootFolder TotalItemsInView="0" IncludesLastItemInRange="true"><t:Folders/></m:RootFolder>'));
    assert.deepEqual(decodeFindFolderResponse(last), { folders: [], includesLast: true });
    assert.throws(() => decodeFindFolderResponse(answer('FindFolder', success('FindFolder'))), /no RootFolder/);
    const notFound = answer('FindFolder', failure('FindFolder', 'ErrorFolderNotFound', 'The specified folder could not be found in the store.'));
    assert.throws(() => decodeFindFolderResponse(notFound), (e: unknown) => e instanceof EwsResponseError && e.responseCode === 'ErrorFolderNotFound');
  });
});
