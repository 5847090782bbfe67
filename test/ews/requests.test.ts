// Request builders: exact shapes, escaping and argument checks. Schema validation is in schema.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REQUEST_HEAD as HEAD, REQUEST_TAIL as TAIL } from '../support/soap.js';
import { SaxesParser } from 'saxes';
import { UsageError } from '../../src/errors.js';
import {
  buildGetStreamingEvents,
  buildSubscribe,
  buildUnsubscribe,
  DEFAULT_SERVER_VERSION,
  DISTINGUISHED_FOLDERS,
  escapeXml,
  isDistinguishedFolder,
  parseEventTypeName,
  toEwsEventType,
} from '../../src/ews/requests.js';
import { EVENT_TYPES, type RequestContext } from '../../src/ews/types.js';

const ctx: RequestContext = { serverVersion: DEFAULT_SERVER_VERSION };

/** Parses with namespaces on: throws if the XML is not (namespace-)well-formed. Returns text of the named element. */
function textsOf(xml: string, name: string): string[] {
  const p = new SaxesParser({ xmlns: true });
  const out: string[] = [];
  let inside = false;
  p.on('opentag', (t) => {
    inside = t.name === name;
    if (inside) out.push('');
  });
  p.on('text', (t) => {
    if (inside) out[out.length - 1] += t;
  });
  p.on('closetag', () => {
    inside = false;
  });
  p.write(xml).close();
  return out;
}

test('buildSubscribe: the inbox, all seven event types, in the documented shape', () => {
  assert.equal(
    buildSubscribe(ctx, { kind: 'folders', folders: [{ kind: 'distinguished', name: 'inbox' }] }, EVENT_TYPES),
    HEAD +
      '<m:Subscribe><m:StreamingSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="inbox"/></t:FolderIds><t:EventTypes>' +
      '<t:EventType>NewMailEvent</t:EventType><t:EventType>CreatedEvent</t:EventType><t:EventType>DeletedEvent</t:EventType>' +
      '<t:EventType>ModifiedEvent</t:EventType><t:EventType>MovedEvent</t:EventType><t:EventType>CopiedEvent</t:EventType>' +
      '<t:EventType>FreeBusyChangedEvent</t:EventType></t:EventTypes></m:StreamingSubscriptionRequest></m:Subscribe>' +
      TAIL,
  );
});

test('buildSubscribe: all folders is an attribute and no FolderIds element at all', () => {
  const xml = buildSubscribe(ctx, { kind: 'all' }, ['NewMail']);
  assert.match(xml, /<m:StreamingSubscriptionRequest SubscribeToAllFolders="true"><t:EventTypes><t:EventType>NewMailEvent<\/t:EventType><\/t:EventTypes>/);
  assert.doesNotMatch(xml, /FolderIds/);
});

test('buildSubscribe: distinguished names are lower-cased, FolderIds escaped, duplicates of event types dropped', () => {
  const xml = buildSubscribe(
    ctx,
    { kind: 'folders', folders: [{ kind: 'distinguished', name: 'DeletedItems' }, { kind: 'id', id: 'AAMk+/="<&>\'' }] },
    ['Moved', 'Moved', 'Copied'],
  );
  assert.match(xml, /<t:FolderIds><t:DistinguishedFolderId Id="deleteditems"\/><t:FolderId Id="AAMk\+\/=&quot;&lt;&amp;&gt;&apos;"\/><\/t:FolderIds>/);
  assert.deepEqual(textsOf(xml, 't:EventType'), ['MovedEvent', 'CopiedEvent']);
});

test('buildSubscribe: impersonation adds ExchangeImpersonation/ConnectingSID/PrimarySmtpAddress, escaped', () => {
  const xml = buildSubscribe({ serverVersion: 'Exchange2010_SP1', impersonate: 'o&neil@contoso.com' }, { kind: 'all' }, ['NewMail']);
  assert.match(
    xml,
    /<soap:Header><t:RequestServerVersion Version="Exchange2010_SP1"\/><t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>o&amp;neil@contoso.com<\/t:PrimarySmtpAddress><\/t:ConnectingSID><\/t:ExchangeImpersonation><\/soap:Header>/,
  );
  assert.deepEqual(textsOf(xml, 't:PrimarySmtpAddress'), ['o&neil@contoso.com']);
});

test('buildSubscribe: usage errors', () => {
  assert.throws(() => buildSubscribe(ctx, { kind: 'all' }, []), UsageError);
  assert.throws(() => buildSubscribe(ctx, { kind: 'folders', folders: [] }, ['NewMail']), /at least one folder/);
  assert.throws(() => buildSubscribe(ctx, { kind: 'folders', folders: [{ kind: 'distinguished', name: 'inbx' }] }, ['NewMail']), /not a distinguished folder name/);
  assert.throws(() => buildSubscribe(ctx, { kind: 'folders', folders: [{ kind: 'id', id: ' ' }] }, ['NewMail']), /folder id is empty/);
  assert.throws(() => buildSubscribe(ctx, { kind: 'folders', folders: [{ kind: 'id', id: 'a\u0001b' }] }, ['NewMail']), /character XML cannot carry/);
  assert.throws(() => buildSubscribe({ serverVersion: '' }, { kind: 'all' }, ['NewMail']), /server version is empty/);
  assert.throws(() => buildSubscribe({ serverVersion: 'Exchange2013', impersonate: '' }, { kind: 'all' }, ['NewMail']), /mailbox to impersonate is empty/);
});

test('buildGetStreamingEvents: t:SubscriptionId inside m:SubscriptionIds, m:ConnectionTimeout in minutes', () => {
  assert.equal(
    buildGetStreamingEvents(ctx, ['JgBi+/=', 'x<y'], 30),
    HEAD +
      '<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>JgBi+/=</t:SubscriptionId><t:SubscriptionId>x&lt;y</t:SubscriptionId></m:SubscriptionIds>' +
      '<m:ConnectionTimeout>30</m:ConnectionTimeout></m:GetStreamingEvents>' +
      TAIL,
  );
  assert.match(buildGetStreamingEvents(ctx, ['a'], 1), /<m:ConnectionTimeout>1<\/m:ConnectionTimeout>/);
  assert.equal(textsOf(buildGetStreamingEvents(ctx, Array.from({ length: 200 }, (_, i) => `s${i}`), 5), 't:SubscriptionId').length, 200);
});

test('buildGetStreamingEvents: usage errors for the timeout, a programming error for the id count', () => {
  for (const minutes of [0, 31, -1, 1.5, Number.NaN, Infinity]) {
    assert.throws(() => buildGetStreamingEvents(ctx, ['a'], minutes), UsageError, String(minutes));
  }
  // The id count is the caller's to get right (groups of at most 200): a programming error, never a UsageError.
  assert.throws(() => buildGetStreamingEvents(ctx, [], 30), (e: unknown) => e instanceof RangeError && !(e instanceof UsageError) && /1 to 200 subscription ids, got 0/.test(e.message));
  assert.throws(() => buildGetStreamingEvents(ctx, Array.from({ length: 201 }, (_, i) => `s${i}`), 30), (e: unknown) => e instanceof RangeError && /programming error: .*got 201/.test(e.message));
  assert.throws(() => buildGetStreamingEvents(ctx, ['a', ''], 30), /subscription id is empty/);
});

test('buildUnsubscribe: m:SubscriptionId in the messages namespace', () => {
  assert.equal(buildUnsubscribe(ctx, 'a&b'), `${HEAD}<m:Unsubscribe><m:SubscriptionId>a&amp;b</m:SubscriptionId></m:Unsubscribe>${TAIL}`);
  assert.throws(() => buildUnsubscribe(ctx, ''), UsageError);
});

test('requests: never the https:// namespaces of the doc samples', () => {
  for (const xml of [buildSubscribe(ctx, { kind: 'all' }, ['NewMail']), buildGetStreamingEvents(ctx, ['a'], 1), buildUnsubscribe(ctx, 'a')]) {
    assert.doesNotMatch(xml, /https:/);
  }
});

test('escapeXml: the five specials and the whitespace attribute normalisation would eat', () => {
  assert.equal(escapeXml(`<a href="x">'&'\r\n\t</a>`), '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&#13;&#10;&#9;&lt;/a&gt;');
  assert.equal(escapeXml('日本 😀'), '日本 😀');
  assert.throws(() => escapeXml('\ud800x'), UsageError, 'a lone surrogate');
  assert.throws(() => escapeXml('\uffff'), UsageError);
});

test('event type names: toEwsEventType and parseEventTypeName', () => {
  assert.deepEqual(EVENT_TYPES.map(toEwsEventType), ['NewMailEvent', 'CreatedEvent', 'DeletedEvent', 'ModifiedEvent', 'MovedEvent', 'CopiedEvent', 'FreeBusyChangedEvent']);
  const table: [string, string | undefined][] = [
    ['newmail', 'NewMail'],
    ['NewMail', 'NewMail'],
    ['NEWMAILEVENT', 'NewMail'],
    ['NewMailEvent', 'NewMail'],
    [' freebusychanged ', 'FreeBusyChanged'],
    ['copiedevent', 'Copied'],
    ['StatusEvent', undefined],
    ['Status', undefined],
    ['New Mail', undefined],
    ['', undefined],
    ['toString', undefined],
  ];
  for (const [input, expected] of table) assert.equal(parseEventTypeName(input), expected, input);
});

test('distinguished folders: the documented names, case-insensitive', () => {
  for (const name of ['calendar', 'contacts', 'deleteditems', 'drafts', 'inbox', 'journal', 'notes', 'outbox', 'sentitems', 'tasks', 'msgfolderroot', 'root', 'junkemail', 'searchfolders', 'voicemail', 'recoverableitemsdeletions', 'archiveinbox', 'syncissues', 'conflicts', 'localfailures', 'serverfailures', 'recipientcache', 'quickcontacts', 'conversationhistory', 'adminauditlogs', 'todosearch', 'mycontacts', 'directory', 'imcontactlist', 'peopleconnect', 'favorites']) {
    assert.ok(DISTINGUISHED_FOLDERS.includes(name), name);
  }
  assert.ok(DISTINGUISHED_FOLDERS.every((n) => n === n.toLowerCase()));
  assert.equal(isDistinguishedFolder('Inbox'), true);
  assert.equal(isDistinguishedFolder('DELETEDITEMS'), true);
  assert.equal(isDistinguishedFolder('AAMkADkz'), false);
  assert.equal(isDistinguishedFolder('inbox/sub'), false);
  assert.equal(DEFAULT_SERVER_VERSION, 'Exchange2013_SP1');
  assert.ok(Object.isFrozen(DISTINGUISHED_FOLDERS));
});
