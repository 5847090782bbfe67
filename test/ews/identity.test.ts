// ConvertId and ResolveNames, the calls that find a DOMAIN\user's SMTP address: request shapes, then the decoders
// on answers in Exchange's shapes. The samples are written for these tests after the response examples of
// Microsoft Learn's "ConvertId operation" and "ResolveNames operation" pages (http:// namespaces, the t: prefix
// declared where the docs forget it), with Exchange 2016's ServerVersionInfo; each is also checked against the schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MT_NAMESPACES, REQUEST_HEAD as HEAD, REQUEST_TAIL as TAIL } from '../support/soap.js';
import { EwsResponseError, ProtocolError, UsageError } from '../../src/errors.js';
import {
  buildConvertId,
  buildResolveNames,
  chooseCandidate,
  decodeConvertIdResponse,
  decodeResolveNamesResponse,
  isSmtpAddress,
  PLACEHOLDER_MAILBOX,
  type NameCandidate,
} from '../../src/ews/identity.js';
import { buildGetFolder } from '../../src/ews/items.js';
import { DEFAULT_SERVER_VERSION } from '../../src/ews/requests.js';
import type { RequestContext } from '../../src/ews/types.js';
import { validateEwsRequest } from '../support/schema.js';
import { sharedDir } from '../support/shared.js';

const ctx: RequestContext = { serverVersion: DEFAULT_SERVER_VERSION };
const ROOT_ID = 'AQMkADkzNjJjODUzLWZhMDMtNDVkMS05ZDdjLWVmMDlkYjQ1Zjc4MwAuAAADUklZSq5hlEyRPjFSL6H4JQEA2RgAmUKUoEqcjZHsWHtm+wAAAgEBAAAA';

// ---- requests

test('buildGetFolder with no fields: root, IdOnly, no AdditionalProperties (the schema wants at least one path there)', () => {
  assert.equal(
    buildGetFolder(ctx, [{ kind: 'distinguished', name: 'root' }], []),
    `${HEAD}<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="root"/></m:FolderIds></m:GetFolder>${TAIL}`,
  );
});

test('buildConvertId: EwsId to EwsId, SourceIds in the messages namespace, AlternateId in types, values escaped', () => {
  assert.equal(
    buildConvertId(ctx, { id: ROOT_ID, mailbox: PLACEHOLDER_MAILBOX }),
    `${HEAD}<m:ConvertId DestinationFormat="EwsId"><m:SourceIds><t:AlternateId Format="EwsId" Id="${ROOT_ID}" Mailbox="nobody@example.com"/></m:SourceIds></m:ConvertId>${TAIL}`,
  );
  assert.match(buildConvertId(ctx, { id: 'a"<&', mailbox: 'x@y.z', destination: 'HexEntryId' }), /DestinationFormat="HexEntryId"><m:SourceIds><t:AlternateId Format="EwsId" Id="a&quot;&lt;&amp;"/);
  assert.throws(() => buildConvertId(ctx, { id: ' ', mailbox: 'x@y.z' }), (e: unknown) => e instanceof UsageError && /folder id is empty/.test(e.message));
});

test('buildResolveNames: directory only, no contact data, the name escaped; a blank name is a UsageError', () => {
  assert.equal(
    buildResolveNames(ctx, 'CONTOSO\\alice'),
    `${HEAD}<m:ResolveNames ReturnFullContactData="false" SearchScope="ActiveDirectory"><m:UnresolvedEntry>CONTOSO\\alice</m:UnresolvedEntry></m:ResolveNames>${TAIL}`,
  );
  assert.match(buildResolveNames(ctx, 'O\'Brien <&>'), /<m:UnresolvedEntry>O&apos;Brien &lt;&amp;&gt;<\/m:UnresolvedEntry>/);
  assert.throws(() => buildResolveNames(ctx, '  '), UsageError);
  assert.throws(() => buildResolveNames(ctx, 'a\u0001'), /cannot carry/);
});

// ---- answers

const answer = (op: string, messages: string): string =>
  '<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>' +
  '<h:ServerVersionInfo MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" MinorBuildNumber="6" Version="V2017_07_11" ' +
  'xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types" xmlns="http://schemas.microsoft.com/exchange/services/2006/types" ' +
  'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/></s:Header>' +
  '<s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">' +
  `<m:${op}Response ${MT_NAMESPACES}><m:ResponseMessages>${messages}</m:ResponseMessages></m:${op}Response></s:Body></s:Envelope>`;

const CONVERTED =
  '<m:ConvertIdResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>' +
  `<m:AlternateId xsi:type="t:AlternateIdType" Format="EwsId" Id="${ROOT_ID}" Mailbox="Alice.Wilber@contoso.com"/></m:ConvertIdResponseMessage>`;
const CONVERT_OK = answer('ConvertId', CONVERTED);
const CONVERT_MALFORMED = answer(
  'ConvertId',
  '<m:ConvertIdResponseMessage ResponseClass="Error"><m:MessageText>Id is malformed.</m:MessageText>' +
    '<m:ResponseCode>ErrorInvalidIdMalformed</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:ConvertIdResponseMessage>',
);

const mailbox = (name: string, address: string, type = 'Mailbox'): string =>
  `<t:Resolution><t:Mailbox><t:Name>${name}</t:Name><t:EmailAddress>${address}</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType><t:MailboxType>${type}</t:MailboxType></t:Mailbox></t:Resolution>`;
const RESOLVED_ONE = answer(
  'ResolveNames',
  '<m:ResolveNamesResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>' +
    `<m:ResolutionSet TotalItemsInView="1" IncludesLastItemInRange="true">${mailbox('Alice Wilber', 'Alice.Wilber@contoso.com')}</m:ResolutionSet></m:ResolveNamesResponseMessage>`,
);
const RESOLVED_MANY = answer(
  'ResolveNames',
  '<m:ResolveNamesResponseMessage ResponseClass="Warning"><m:MessageText>Multiple results were found.</m:MessageText>' +
    '<m:ResponseCode>ErrorNameResolutionMultipleResults</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>' +
    '<m:ResolutionSet TotalItemsInView="3" IncludesLastItemInRange="true">' +
    mailbox('Alice Jones', 'alice.jones@contoso.com') +
    mailbox('alice', 'alice@contoso.com') +
    mailbox('Alice fan club', 'alicefans@contoso.com', 'PublicDL') +
    '</m:ResolutionSet></m:ResolveNamesResponseMessage>',
);
const RESOLVED_NONE = answer(
  'ResolveNames',
  '<m:ResolveNamesResponseMessage ResponseClass="Error"><m:MessageText>No results were found.</m:MessageText>' +
    '<m:ResponseCode>ErrorNameResolutionNoResults</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:ResolveNamesResponseMessage>',
);
// Exchange's usual SOAP fault for an operation it refuses (HTTP 500).
const FAULT =
  '<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>' +
  '<faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorInvalidRequest</faultcode>' +
  '<faultstring xml:lang="en-US">The request is invalid.</faultstring><detail>' +
  '<e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorInvalidRequest</e:ResponseCode>' +
  '<e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The request is invalid.</e:Message></detail></s:Fault></s:Body></s:Envelope>';

test('decodeConvertIdResponse: the AlternateId, with the Mailbox as the server spells it', () => {
  assert.deepEqual(decodeConvertIdResponse(CONVERT_OK), { ok: true, format: 'EwsId', id: ROOT_ID, mailbox: 'Alice.Wilber@contoso.com' });
  const archived = CONVERT_OK.replace('Mailbox=', 'IsArchive="true" Mailbox=');
  assert.deepEqual(decodeConvertIdResponse(archived), { ok: true, format: 'EwsId', id: ROOT_ID, mailbox: 'Alice.Wilber@contoso.com', isArchive: true });
  // Another prefix, no xsi:type: local names only.
  const bare = CONVERT_OK.replace(/\bm:/g, 'ews:').replace(' xsi:type="t:AlternateIdType"', '');
  assert.ok(bare.includes('<ews:AlternateId Format='));
  assert.equal((decodeConvertIdResponse(bare) as { mailbox: string }).mailbox, 'Alice.Wilber@contoso.com');
});

test('decodeConvertIdResponse: an error message is a result; a fault throws; an answer without AlternateId is malformed', () => {
  assert.deepEqual(decodeConvertIdResponse(CONVERT_MALFORMED), { ok: false, responseCode: 'ErrorInvalidIdMalformed', message: 'Id is malformed.' });
  assert.throws(() => decodeConvertIdResponse(FAULT), (e: unknown) => e instanceof EwsResponseError && e.responseCode === 'ErrorInvalidRequest');
  const empty = answer('ConvertId', '<m:ConvertIdResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode></m:ConvertIdResponseMessage>');
  assert.throws(() => decodeConvertIdResponse(empty), (e: unknown) => e instanceof ProtocolError && /no AlternateId/.test(e.message));
  assert.throws(() => decodeConvertIdResponse('<html><body>Bad gateway</body></html>'), ProtocolError);
  // A Mailbox that is missing or blank is left out (the caller says why it cannot use the answer).
  assert.deepEqual(decodeConvertIdResponse(CONVERT_OK.replace(' Mailbox="Alice.Wilber@contoso.com"', ' Mailbox=" "')), { ok: true, format: 'EwsId', id: ROOT_ID });
});

test('decodeResolveNamesResponse: Success with one, Warning ErrorNameResolutionMultipleResults with several, Error with none', () => {
  assert.deepEqual(decodeResolveNamesResponse(RESOLVED_ONE), {
    ok: true,
    multiple: false,
    candidates: [{ name: 'Alice Wilber', address: 'Alice.Wilber@contoso.com', routingType: 'SMTP', mailboxType: 'Mailbox' }],
  });
  const many = decodeResolveNamesResponse(RESOLVED_MANY);
  assert.equal(many.ok && many.multiple, true);
  assert.deepEqual(many.ok && many.candidates.map((c) => c.address), ['alice.jones@contoso.com', 'alice@contoso.com', 'alicefans@contoso.com']);
  assert.deepEqual(decodeResolveNamesResponse(RESOLVED_NONE), { ok: false, responseCode: 'ErrorNameResolutionNoResults', message: 'No results were found.' });
  assert.throws(() => decodeResolveNamesResponse(FAULT), EwsResponseError);
});

test('decodeResolveNamesResponse: the full contact data does not get in the way; a Warning without candidates is an error', () => {
  const contact =
    '<t:Contact><t:DisplayName>Alice Wilber</t:DisplayName><t:EmailAddresses><t:Entry Key="EmailAddress1">SMTP:Alice.Wilber@contoso.com</t:Entry></t:EmailAddresses>' +
    '<t:ContactSource>ActiveDirectory</t:ContactSource></t:Contact></t:Resolution>';
  const full = RESOLVED_ONE.replace('</t:Mailbox></t:Resolution>', `</t:Mailbox>${contact}`);
  assert.notEqual(full, RESOLVED_ONE);
  assert.deepEqual(decodeResolveNamesResponse(full), decodeResolveNamesResponse(RESOLVED_ONE));
  const bareWarning = RESOLVED_MANY.replace(/<m:ResolutionSet[^]*<\/m:ResolutionSet>/, '');
  assert.deepEqual(decodeResolveNamesResponse(bareWarning), { ok: false, responseCode: 'ErrorNameResolutionMultipleResults', message: 'Multiple results were found.' });
});

test('the samples above are schema-valid answers (so the decoders are tested on the right shapes)', async (t) => {
  if (!sharedDir()) return t.skip('../shared not found: schema validation skipped');
  for (const [name, xml] of Object.entries({ CONVERT_OK, CONVERT_MALFORMED, RESOLVED_ONE, RESOLVED_MANY, RESOLVED_NONE })) {
    assert.deepEqual(await validateEwsRequest(xml), { valid: true, errors: [] }, name);
  }
});

// ---- choosing

const c = (address: string, extra: Partial<NameCandidate> = {}): NameCandidate => ({ name: address.split('@')[0], address, routingType: 'SMTP', mailboxType: 'Mailbox', ...extra });

test('chooseCandidate: one mailbox is the account; several need exactly one exact match', () => {
  // One answer to "asmith": the directory found the account by its name, whatever its address says.
  assert.equal(chooseCandidate([c('Alice.Smith@contoso.com')], 'asmith')?.address, 'Alice.Smith@contoso.com');
  assert.equal(chooseCandidate([c('alice.jones@contoso.com'), c('alice@contoso.com')], 'Alice')?.address, 'alice@contoso.com');
  assert.equal(chooseCandidate([c('alice.jones@contoso.com'), c('aw@contoso.com', { name: 'alice' })], 'alice')?.address, 'aw@contoso.com');
  assert.equal(chooseCandidate([c('alice.jones@contoso.com'), c('alice.smith@contoso.com')], 'alice'), undefined);
  assert.equal(chooseCandidate([c('alice@contoso.com'), c('alice@fabrikam.com')], 'alice'), undefined, 'two exact matches are still ambiguous');
  assert.equal(chooseCandidate([], 'alice'), undefined);
});

test('chooseCandidate: contacts, distribution lists, other routing types and non-addresses are nobody\'s own mailbox', () => {
  assert.equal(chooseCandidate([c('alice@contoso.com', { mailboxType: 'Contact' })], 'alice'), undefined);
  assert.equal(chooseCandidate([c('alice@contoso.com', { mailboxType: 'PublicDL' }), c('alice.w@contoso.com')], 'alice')?.address, 'alice.w@contoso.com');
  assert.equal(chooseCandidate([c('alice@contoso.com', { routingType: 'EX' })], 'alice'), undefined);
  assert.equal(chooseCandidate([c('/o=Contoso/ou=Exchange/cn=Recipients/cn=alice', { routingType: undefined })], 'alice'), undefined);
  assert.equal(chooseCandidate([{ address: 'alice@contoso.com' }], 'alice')?.address, 'alice@contoso.com', 'missing type fields do not exclude');
});

test('isSmtpAddress: what may go on events, into paths and headers', () => {
  for (const ok of ['alice@contoso.com', 'Alice.Wilber@contoso.com', "o'brien+tag@mail.fabrikam.example", 'a@b.co']) assert.equal(isSmtpAddress(ok), true, ok);
  for (const bad of ['alice', 'alice@contoso', 'a b@contoso.com', 'a@contoso.com\r\nX-Evil: 1', 'a\u001b[31m@contoso.com', '"a"@contoso.com', 'a@@contoso.com', '<a@contoso.com>', `${'a'.repeat(320)}@contoso.com`, 'CONTOSO\\alice']) {
    assert.equal(isSmtpAddress(bad), false, JSON.stringify(bad));
  }
});
