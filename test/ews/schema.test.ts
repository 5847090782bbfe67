// Requests against Microsoft's EWS schema (xmllint as WebAssembly). First the validator is proven on the shared
// examples (valid ones pass, invalid ones fail for their stated reason), then every builder's output is checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildGetStreamingEvents, buildSubscribe, buildUnsubscribe, DEFAULT_SERVER_VERSION } from '../../src/ews/requests.js';
import { EVENT_TYPES, type RequestContext } from '../../src/ews/types.js';
import { buildConvertId, buildResolveNames, PLACEHOLDER_MAILBOX } from '../../src/ews/identity.js';
import { buildGetFolder } from '../../src/ews/items.js';
import { buildCreateFolder, buildCreateItem, buildDeleteFolder, buildDeleteItem, buildFindFolder, buildMoveCopyItem, buildUpdateItem } from '../../src/ews/writes.js';
import { extractPayloads, validateEwsRequest, validateEwsRequests, type SchemaResult } from '../support/schema.js';
import { sharedDir } from '../support/shared.js';

const examples = (): string | undefined => {
  const dir = sharedDir();
  return dir ? join(dir, 'ews-schema', 'examples') : undefined;
};

// Why each file in examples/invalid is invalid (ews-schema/README.md).
const INVALID_REASONS: Record<string, RegExp> = {
  'subscribe-eventtype-newmail.request.xml': /EventType.*'NewMail' is not an element of the set/,
  'getstreamingevents-timeout-31.request.xml': /ConnectionTimeout.*'31' is greater than the maximum value allowed \('30'\)/,
  'subscribe-no-eventtypes.request.xml': /StreamingSubscriptionRequest.*Missing child element\(s\)\. Expected is .*EventTypes/,
  'getstreamingevents-subscriptionid-wrong-ns.request.xml': /messages\}SubscriptionId': This element is not expected\. Expected is .*types\}SubscriptionId/,
  'getstreamingevents-status-closed-lowercase.response.xml': /ConnectionStatus.*'closed' is not an element of the set \{'OK', 'Closed'\}/,
  'subscribe-https-soap-namespace.request.xml': /root is \{https:\/\/schemas\.xmlsoap\.org\/soap\/envelope\/\}Envelope/,
};

test('validator: every example in ews-schema/examples/valid is valid', async (t) => {
  const dir = examples();
  if (!dir) return t.skip('../shared not found: schema validation skipped');
  const files = readdirSync(join(dir, 'valid')).filter((f) => f.endsWith('.xml'));
  assert.equal(files.length, 6);
  const results = await validateEwsRequests(files.map((f) => readFileSync(join(dir, 'valid', f), 'utf8')));
  files.forEach((f, i) => assert.deepEqual(results[i], { valid: true, errors: [] }, f));
});

test('validator: every example in ews-schema/examples/invalid is invalid, for its stated reason', async (t) => {
  const dir = examples();
  if (!dir) return t.skip('../shared not found: schema validation skipped');
  const files = readdirSync(join(dir, 'invalid')).filter((f) => f.endsWith('.xml')).sort();
  assert.deepEqual(files, Object.keys(INVALID_REASONS).sort());
  const results = await validateEwsRequests(files.map((f) => readFileSync(join(dir, 'invalid', f), 'utf8')));
  files.forEach((f, i) => {
    const r = results[i]!;
    assert.equal(r.valid, false, f);
    assert.ok(r.errors.some((e) => INVALID_REASONS[f].test(e)), `${f}: ${r.errors.join(' | ')}`);
  });
});

test('validator: envelope checks come before the schema (no xmllint needed)', async () => {
  const soap = 'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"';
  const two = await validateEwsRequest(`<soap:Envelope ${soap}><soap:Body><m:A/><m:B/></soap:Body></soap:Envelope>`);
  assert.deepEqual(two, { valid: false, errors: ['soap:Body has 2 element children (expected exactly 1)'] });
  const none = await validateEwsRequest(`<soap:Envelope ${soap}><soap:Body/></soap:Envelope>`);
  assert.deepEqual(none.errors, ['soap:Body has 0 element children (expected exactly 1)']);
  const unbound = await validateEwsRequest(`<soap:Envelope ${soap}><soap:Body><x:A/></soap:Body></soap:Envelope>`);
  assert.equal(unbound.valid, false);
  assert.match(unbound.errors[0], /not well-formed or not namespace-well-formed/);
});

test('validator: the extracted payload re-declares the namespaces in scope, like validate.sh', () => {
  const xml = buildGetStreamingEvents({ serverVersion: 'Exchange2013' }, ['a'], 5);
  const { docs, errors } = extractPayloads(xml, { header: true });
  assert.deepEqual(errors, []);
  assert.deepEqual(docs.map((d) => d.label), ['Body/m:GetStreamingEvents', 'Header/t:RequestServerVersion']);
  assert.match(docs[0].xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<m:GetStreamingEvents xmlns:soap="http:\/\/schemas\.xmlsoap\.org\/soap\/envelope\/" xmlns:m="[^"]+" xmlns:t="[^"]+">/);
  assert.match(docs[0].xml, /<\/m:GetStreamingEvents>\n$/);
});

const ctx: RequestContext = { serverVersion: DEFAULT_SERVER_VERSION };
const FOLDER_ID = 'AAMkADkzNjJjODUzLWZhMDMtNDVkMS05ZDdjLWVmMDlkYjQ1Zjc4MwAuAAAAAABSSWVKrmGUTJE+MVIvofglAQDZGACZQpSgSpyNkexYe2b7AAAAAAEMAAA=';
const ITEM_ID = 'AAMkADkzNjJjODUzLWZhMDMtNDVkMS05ZDdjLWVmMDlkYjQ1Zjc4MwBGAAAAAABSSWVKrmGUTJE+MVIvofglBwDZGACZQpSgSpyNkexYe2b7AAAAAAEMAADZGACZQpSgSpyNkexYe2b7AAAAAAIRAAA=';
const requests: [string, string][] = [
  ['Subscribe: inbox, all event types', buildSubscribe(ctx, { kind: 'folders', folders: [{ kind: 'distinguished', name: 'inbox' }] }, EVENT_TYPES)],
  [
    'Subscribe: several folders including a FolderId',
    buildSubscribe(
      ctx,
      {
        kind: 'folders',
        folders: [
          { kind: 'distinguished', name: 'inbox' },
          { kind: 'distinguished', name: 'Calendar' },
          { kind: 'id', id: 'AAMkADkzNjJjODUzLWZhMDMtNDVkMS05ZDdjLWVmMDlkYjQ1Zjc4MwAuAAAAAABSSWVKrmGUTJE+MVIvofglAQDZGACZQpSgSpyNkexYe2b7AAAAAAEMAAA=' },
        ],
      },
      ['NewMail', 'Moved', 'Deleted'],
    ),
  ],
  ['Subscribe: all folders', buildSubscribe(ctx, { kind: 'all' }, EVENT_TYPES)],
  ['Subscribe: one event type', buildSubscribe(ctx, { kind: 'folders', folders: [{ kind: 'distinguished', name: 'sentitems' }] }, ['FreeBusyChanged'])],
  ['Subscribe: impersonation', buildSubscribe({ serverVersion: 'Exchange2016', impersonate: 'alisa@contoso.com' }, { kind: 'all' }, ['NewMail'])],
  ['GetStreamingEvents: 1 minute', buildGetStreamingEvents(ctx, ['JgBibjFwcjAzbWIyMDIubmFtcHJkMDMucHJvZC5vdXRsb29rLmNvbRAAAADwXxVesOnHS5BxUHKwAW88SHjwd1iB0Ag='], 1)],
  ['GetStreamingEvents: 30 minutes, 3 ids', buildGetStreamingEvents({ serverVersion: 'Exchange2010_SP1', impersonate: 'bob@contoso.com' }, ['id-1', 'id-2', 'id-3'], 30)],
  // Issue 14: a group's connection, impersonating its anchor, at the 200-id bound.
  ['GetStreamingEvents: 200 ids, impersonating the anchor', buildGetStreamingEvents({ serverVersion: 'Exchange2013_SP1', impersonate: 'anchor@contoso.com' }, Array.from({ length: 200 }, (_, i) => `JgBibjFwcjAzbWIyMDIubmFtcHJkMDMucHJvZC5vdXRsb29rLmNvbRAAAAD${i}`), 30)],
  ['Unsubscribe, impersonating a member', buildUnsubscribe({ serverVersion: 'Exchange2013_SP1', impersonate: 'member@contoso.com' }, 'JgBibjFwcjAzbWIyMDIubmFtcHJkMDMucHJvZC5vdXRsb29rLmNvbRAAAADwXxVesOnHS5BxUHKwAW88SHjwd1iB0Ag=')],
  ['Unsubscribe', buildUnsubscribe(ctx, 'JgBibjFwcjAzbWIyMDIubmFtcHJkMDMucHJvZC5vdXRsb29rLmNvbRAAAADwXxVesOnHS5BxUHKwAW88SHjwd1iB0Ag=')],
  // Finding a DOMAIN\user's SMTP address (src/auth/find-mailbox.ts).
  ['GetFolder: root, IdOnly, no AdditionalProperties', buildGetFolder(ctx, [{ kind: 'distinguished', name: 'root' }], [])],
  ['ConvertId: EwsId to EwsId with the placeholder mailbox', buildConvertId(ctx, { id: 'AQMkADkzNjJjODUzLWZhMDMtNDVkMS05ZDdjLWVmMDlkYjQ1Zjc4MwAuAAADUklZSq5hlEyRPjFSL6H4JQEA2RgAmUKUoEqcjZHsWHtm+wAAAgEBAAAA', mailbox: PLACEHOLDER_MAILBOX })],
  ['ResolveNames: the account name', buildResolveNames(ctx, 'alice')],
  ['ResolveNames: DOMAIN\\user, Exchange2010_SP1', buildResolveNames({ serverVersion: 'Exchange2010_SP1' }, 'CONTOSO\\alice')],
  // The write calls of `check --live` and the conformance harness (src/ews/writes.ts).
  ['CreateFolder: under msgfolderroot', buildCreateFolder(ctx, { kind: 'distinguished', name: 'msgfolderroot' }, 'ews-watch conformance 2026-12-02 03:10 #a1b2 <&>')],
  ['CreateFolder: under a FolderId, impersonating', buildCreateFolder({ serverVersion: 'Exchange2016', impersonate: 'bob@contoso.com' }, { kind: 'id', id: FOLDER_ID }, 'sub')],
  ['DeleteFolder: HardDelete', buildDeleteFolder(ctx, FOLDER_ID, 'HardDelete')],
  ['DeleteFolder: MoveToDeletedItems', buildDeleteFolder(ctx, FOLDER_ID, 'MoveToDeletedItems')],
  ['FindFolder: Shallow, IdOnly + DisplayName, a page', buildFindFolder(ctx, { kind: 'distinguished', name: 'msgfolderroot' }, 500, 250)],
  ['CreateItem: a draft, SaveOnly, with a body', buildCreateItem(ctx, FOLDER_ID, { subject: 'draft "1" & <2>', body: 'line 1\nline 2' })],
  ['CreateItem: a draft without a body, Exchange2010_SP1', buildCreateItem({ serverVersion: 'Exchange2010_SP1' }, FOLDER_ID, { subject: '' })],
  ['UpdateItem: IsRead, Flag (item:Flag) and Subject', buildUpdateItem(ctx, { id: ITEM_ID, changeKey: 'CQAAABYAAAA' }, { isRead: true, flag: 'Flagged', subject: 'new' })],
  ['UpdateItem: Flag Complete, NotFlagged', buildUpdateItem(ctx, { id: ITEM_ID }, { flag: 'Complete' })],
  ['UpdateItem: Flag through PidTagFlagStatus on Exchange2010_SP1', buildUpdateItem({ serverVersion: 'Exchange2010_SP1' }, { id: ITEM_ID }, { flag: 'Flagged', isRead: false })],
  ['UpdateItem: NotFlagged through DeleteItemField on Exchange2010_SP2', buildUpdateItem({ serverVersion: 'Exchange2010_SP2' }, { id: ITEM_ID }, { flag: 'NotFlagged' })],
  ['MoveItem', buildMoveCopyItem(ctx, 'MoveItem', ITEM_ID, FOLDER_ID)],
  ['CopyItem', buildMoveCopyItem(ctx, 'CopyItem', ITEM_ID, FOLDER_ID)],
  ['DeleteItem: HardDelete', buildDeleteItem(ctx, ITEM_ID, 'HardDelete')],
  ['DeleteItem: SoftDelete', buildDeleteItem(ctx, ITEM_ID, 'SoftDelete')],
  ['DeleteItem: MoveToDeletedItems', buildDeleteItem(ctx, ITEM_ID, 'MoveToDeletedItems')],
];

test('validator: several envelopes in one run are judged each on its own (a bad one fails alone, with its own errors)', async (t) => {
  const dir = examples();
  if (!dir) return t.skip('../shared not found: schema validation skipped');
  const good = readFileSync(join(dir, 'valid', readdirSync(join(dir, 'valid')).filter((f) => f.endsWith('.xml')).sort()[0]!), 'utf8');
  const badName = 'getstreamingevents-status-closed-lowercase.response.xml';
  const bad = readFileSync(join(dir, 'invalid', badName), 'utf8');
  const rootless = readFileSync(join(dir, 'invalid', 'subscribe-https-soap-namespace.request.xml'), 'utf8');
  const [a, b, c, d] = await validateEwsRequests([good, bad, good, rootless]);
  assert.deepEqual(a, { valid: true, errors: [] });
  assert.deepEqual(c, { valid: true, errors: [] });
  assert.equal(b!.valid, false);
  assert.ok(b!.errors.some((e) => INVALID_REASONS[badName].test(e)), b!.errors.join(' | '));
  assert.equal(d!.valid, false);
  assert.match(d!.errors.join(' '), /root is \{https:/);
  assert.deepEqual(await validateEwsRequests([]), []);
});

// Validated together in one xmllint run, on first use; each test still asserts its own request's result.
let checked: Promise<SchemaResult[]> | undefined;
requests.forEach(([name, xml], i) => {
  test(`schema: ${name} is valid (Body and Header)`, async (t) => {
    if (!sharedDir()) return t.skip('../shared not found: schema validation skipped');
    checked ??= validateEwsRequests(requests.map(([, x]) => x), { header: true });
    const r = (await checked)[i];
    assert.deepEqual(r, { valid: true, errors: [] }, xml);
  });
});

test("schema: a request with 'NewMail' as EventType, built by hand, is reported invalid", async (t) => {
  if (!sharedDir()) return t.skip('../shared not found: schema validation skipped');
  const good = buildSubscribe(ctx, { kind: 'folders', folders: [{ kind: 'distinguished', name: 'inbox' }] }, ['NewMail']);
  const bad = good.replace('<t:EventType>NewMailEvent</t:EventType>', '<t:EventType>NewMail</t:EventType>');
  assert.notEqual(bad, good);
  const r = await validateEwsRequest(bad);
  assert.equal(r.valid, false);
  assert.match(r.errors.join('\n'), /Body\/m:Subscribe:\d+: .*EventType.*'NewMail' is not an element of the set/);
});

test('schema: a bad header value is caught when headers are validated too', async (t) => {
  if (!sharedDir()) return t.skip('../shared not found: schema validation skipped');
  const xml = buildUnsubscribe({ serverVersion: 'Exchange2099' }, 'a');
  assert.deepEqual(await validateEwsRequest(xml), { valid: true, errors: [] }, 'validate.sh checks the Body only');
  const r = await validateEwsRequest(xml, { header: true });
  assert.equal(r.valid, false);
  assert.match(r.errors.join('\n'), /RequestServerVersion.*'Exchange2099' is not an element of the set/);
});

test('schema: a ConvertId with AlternateId in the messages namespace or without its Mailbox, built by hand, is reported invalid', async (t) => {
  if (!sharedDir()) return t.skip('../shared not found: schema validation skipped');
  const good = buildConvertId(ctx, { id: 'AQMkAD', mailbox: PLACEHOLDER_MAILBOX });
  for (const bad of [good.replace('<t:AlternateId ', '<m:AlternateId '), good.replace(` Mailbox="${PLACEHOLDER_MAILBOX}"`, '')]) {
    assert.notEqual(bad, good);
    const r = await validateEwsRequest(bad);
    assert.equal(r.valid, false, bad);
    assert.match(r.errors.join('\n'), /AlternateId/);
  }
});
