// The stream decoder's behaviour beyond the fixtures: emission timing, bounds, leniency and strictness.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '../../src/errors.js';
import { createStreamDecoder, DEFAULT_MAX_ENVELOPE_BYTES } from '../../src/ews/stream-decoder.js';
import type { StreamMessage } from '../../src/ews/types.js';
import { decodeChunks, twoWaySplits } from './feed.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const M = 'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"';
const env = (messages: string): string =>
  `<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><soap11:Body xmlns:soap11="http://schemas.xmlsoap.org/soap/envelope/"><m:GetStreamingEventsResponse ${M}><m:ResponseMessages>${messages}</m:ResponseMessages></m:GetStreamingEventsResponse></soap11:Body></Envelope>`;
const ok = (inner: string): string =>
  `<m:GetStreamingEventsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>${inner}</m:GetStreamingEventsResponseMessage>`;
const HEARTBEAT = env(ok('<m:ConnectionStatus>OK</m:ConnectionStatus>'));
const CLOSED = env(ok('<m:ConnectionStatus>Closed</m:ConnectionStatus>'));
const notification = (events: string, sub = '<t:SubscriptionId>sub-1</t:SubscriptionId>'): string =>
  env(ok(`<m:Notifications><m:Notification>${sub}${events}</m:Notification></m:Notifications>`));
const created = '<t:CreatedEvent><t:TimeStamp>2025-01-02T03:04:05Z</t:TimeStamp><t:ItemId Id="item-1" ChangeKey="ck"/><t:ParentFolderId Id="inbox-1"/></t:CreatedEvent>';
const createdEvent: StreamMessage = {
  kind: 'event',
  event: { type: 'Created', subscriptionId: 'sub-1', timestamp: '2025-01-02T03:04:05Z', kind: 'item', target: { id: 'item-1', changeKey: 'ck' }, parentFolderId: { id: 'inbox-1' } },
};

test('decoder: the placeholder ChangeKeys of a notification (the type prefix alone) are left out; a real one is kept', () => {
  const events =
    '<t:CreatedEvent><t:TimeStamp>2025-01-02T03:04:05Z</t:TimeStamp><t:ItemId Id="item-1" ChangeKey="CQAAAA=="/><t:ParentFolderId Id="inbox-1" ChangeKey="AQAAAA=="/></t:CreatedEvent>' +
    '<t:ModifiedEvent><t:TimeStamp>2025-01-02T03:04:06Z</t:TimeStamp><t:FolderId Id="inbox-1" ChangeKey="AQAAABYAAAA1"/><t:ParentFolderId Id="root-1" ChangeKey="AQAAAA=="/></t:ModifiedEvent>';
  const got = decodeChunks([utf8(notification(events))]).messages.flatMap((m) => (m.kind === 'event' ? [[m.event.target, m.event.parentFolderId]] : []));
  assert.deepEqual(got, [
    [{ id: 'item-1' }, { id: 'inbox-1' }],
    [{ id: 'inbox-1', changeKey: 'AQAAABYAAAA1' }, { id: 'root-1' }],
  ]);
});

test('decoder: each envelope is emitted as soon as it closes, before the next one is complete', () => {
  const seen: StreamMessage[] = [];
  const d = createStreamDecoder({ onMessage: (m) => seen.push(m) });
  const text = HEARTBEAT + notification(created) + CLOSED;
  const cut = HEARTBEAT.length + 40;
  d.feed(utf8(text.slice(0, cut)));
  assert.deepEqual(seen, [{ kind: 'heartbeat' }]);
  assert.equal(d.bufferedBytes, 40);
  d.feed(utf8(text.slice(cut)));
  assert.deepEqual(seen, [{ kind: 'heartbeat' }, createdEvent, { kind: 'closed' }]);
  assert.equal(d.bufferedBytes, 0);
  d.end();
});

test('decoder: a malformed envelope emits none of its messages; earlier envelopes were already emitted', () => {
  const bad = notification(created).replace('</t:CreatedEvent>', '</t:CreatedEvnt>');
  const r = decodeChunks([utf8(HEARTBEAT + bad + HEARTBEAT)]);
  assert.deepEqual(r.messages, [{ kind: 'heartbeat' }]);
  assert.ok(r.errorObject instanceof ProtocolError);
  assert.match(r.error ?? '', /malformed XML in the event stream/);
});

test('decoder: after a ProtocolError, or after end(), it refuses more input', () => {
  const d = createStreamDecoder({ onMessage: () => undefined });
  assert.throws(() => d.feed(utf8('nonsense')), ProtocolError);
  assert.throws(() => d.feed(utf8(HEARTBEAT)), ProtocolError);
  const e = createStreamDecoder({ onMessage: () => undefined });
  e.feed(utf8(HEARTBEAT));
  e.end();
  e.end();
  assert.throws(() => e.feed(utf8(HEARTBEAT)), /fed after it ended/);
});

test('decoder: an envelope over maxEnvelopeBytes is a ProtocolError and memory stays bounded', () => {
  const seen: StreamMessage[] = [];
  const d = createStreamDecoder({ onMessage: (m) => seen.push(m), maxEnvelopeBytes: 4096 });
  d.feed(utf8(HEARTBEAT));
  d.feed(utf8('<Envelope><soap11:Body xmlns:soap11="x"><m:X>'));
  let error: unknown;
  for (let i = 0; i < 400 && !error; i++) {
    try {
      d.feed(utf8('<t:Pad>' + 'x'.repeat(100) + '</t:Pad>'));
      assert.ok(d.bufferedBytes <= 4096, `buffered ${d.bufferedBytes}`);
    } catch (err) {
      error = err;
    }
  }
  assert.ok(error instanceof ProtocolError);
  assert.deepEqual(seen, [{ kind: 'heartbeat' }]);
  assert.equal(DEFAULT_MAX_ENVELOPE_BYTES, 4 * 1024 * 1024);
});

test('decoder: undeclared prefixes and unqualified names (gromox 2.17) are read by local name', () => {
  const text =
    '<SOAP:Envelope xmlns:SOAP="http://schemas.xmlsoap.org/soap/envelope/"><SOAP:Body><m:GetStreamingEventsResponse><m:ResponseMessages><m:GetStreamingEvents>' +
    '<m:Notifications><Notification><t:SubscriptionId>BAAAAAFAAAAA</t:SubscriptionId><t:MoreEvents>false</t:MoreEvents>' +
    '<t:NewMailEvent><t:TimeStamp>2026-11-22T09:03:54.7Z</t:TimeStamp><ItemId Id="i"/><t:ParentFolderId Id="p"/></t:NewMailEvent><t:StatusEvent/></Notification></m:Notifications>' +
    '<m:ErrorSubscriptionIds/></m:GetStreamingEvents></m:ResponseMessages></m:GetStreamingEventsResponse></SOAP:Body></SOAP:Envelope>';
  assert.deepEqual(decodeChunks([utf8(text)]).messages, [
    { kind: 'event', event: { type: 'NewMail', subscriptionId: 'BAAAAAFAAAAA', timestamp: '2026-11-22T09:03:54.7Z', kind: 'item', target: { id: 'i' }, parentFolderId: { id: 'p' } } },
    { kind: 'heartbeat' }, // StatusEvent keep-alive
  ]);
});

test('decoder: the SubscriptionId may follow the events of its notification', () => {
  const text = notification(created + '<t:SubscriptionId>sub-1</t:SubscriptionId>', '');
  assert.deepEqual(decodeChunks([utf8(text)]).messages, [createdEvent]);
});

test('decoder: incomplete events and notifications are ProtocolErrors', () => {
  const cases: [string, RegExp][] = [
    [notification('<t:CreatedEvent><t:TimeStamp>2025-01-02T03:04:05Z</t:TimeStamp><t:ParentFolderId Id="p"/></t:CreatedEvent>'), /Created event has no ItemId or FolderId/],
    [notification('<t:CreatedEvent><t:TimeStamp>2025-01-02T03:04:05Z</t:TimeStamp><t:ItemId Id=""/></t:CreatedEvent>'), /no ItemId or FolderId/],
    [notification('<t:DeletedEvent><t:ItemId Id="i"/></t:DeletedEvent>'), /Deleted event has no TimeStamp/],
    [notification(created, ''), /Notification has no SubscriptionId/],
  ];
  for (const [text, message] of cases) {
    const r = decodeChunks([utf8(text)]);
    assert.ok(r.errorObject instanceof ProtocolError, r.error);
    assert.match(r.error ?? '', message);
    assert.deepEqual(r.messages, []);
  }
});

test('decoder: UnreadCount only for folder ModifiedEvents, and only when it is a number', () => {
  const mod = (target: string, unread: string): string =>
    `<t:ModifiedEvent><t:TimeStamp>T</t:TimeStamp>${target}<t:ParentFolderId Id="p"/><t:UnreadCount>${unread}</t:UnreadCount></t:ModifiedEvent>`;
  const r = decodeChunks([utf8(notification(mod('<t:FolderId Id="f"/>', ' 7 ') + mod('<t:ItemId Id="i"/>', '3') + mod('<t:FolderId Id="g"/>', 'many')))]);
  const events = r.messages.map((m) => (m.kind === 'event' ? m.event : undefined));
  assert.deepEqual(events.map((e) => [e?.target.id, e?.unreadCount]), [['f', 7], ['i', undefined], ['g', undefined]]);
  assert.ok(events[1] && !('unreadCount' in events[1]), 'no unreadCount key at all for an item');
});

test('decoder: ResponseClass Error without a ResponseCode still reports an error', () => {
  const text = env('<m:GetStreamingEventsResponseMessage ResponseClass="Error"><m:MessageText>?</m:MessageText></m:GetStreamingEventsResponseMessage>');
  assert.deepEqual(decodeChunks([utf8(text)]).messages, [{ kind: 'error', error: { responseCode: 'ErrorUnknown', messageText: '?', subscriptionIds: [], fault: false } }]);
});

test('decoder: a Warning with NoError is not an error; a code other than NoError is, whatever the class', () => {
  const warn = (code: string): string =>
    env(`<m:GetStreamingEventsResponseMessage ResponseClass="Warning"><m:ResponseCode>${code}</m:ResponseCode><m:ConnectionStatus>OK</m:ConnectionStatus></m:GetStreamingEventsResponseMessage>`);
  assert.deepEqual(decodeChunks([utf8(warn('NoError'))]).messages, [{ kind: 'heartbeat' }]);
  assert.deepEqual(decodeChunks([utf8(warn('ErrorMissedNotificationEvents'))]).messages, [
    { kind: 'error', error: { responseCode: 'ErrorMissedNotificationEvents', messageText: '', subscriptionIds: [], fault: false } },
    { kind: 'heartbeat' },
  ]);
});

test("decoder: ConnectionStatus is read case-insensitively; other values are ignored", () => {
  const status = (s: string): string => env(ok(`<m:ConnectionStatus>${s}</m:ConnectionStatus>`));
  assert.deepEqual(decodeChunks([utf8(status('closed') + status(' OK ') + status('Open'))]).messages, [{ kind: 'closed' }, { kind: 'heartbeat' }]);
});

test('decoder: a BackOffMilliseconds that is not a number is left out', () => {
  const text = env(
    '<m:GetStreamingEventsResponseMessage ResponseClass="Error"><m:ResponseCode>ErrorServerBusy</m:ResponseCode><m:MessageXml><t:Value Name="BackOffMilliseconds">soon</t:Value></m:MessageXml></m:GetStreamingEventsResponseMessage>',
  );
  assert.deepEqual(decodeChunks([utf8(text)]).messages, [{ kind: 'error', error: { responseCode: 'ErrorServerBusy', messageText: '', subscriptionIds: [], fault: false } }]);
});

test('decoder: a UTF-8 BOM before the first envelope is skipped; invalid bytes become U+FFFD', () => {
  const text = env('<m:GetStreamingEventsResponseMessage ResponseClass="Error"><m:ResponseCode>ErrorX</m:ResponseCode><m:MessageText>a\u00e9b</m:MessageText></m:GetStreamingEventsResponseMessage>');
  const bytes = utf8('\ufeff' + text);
  const bad = new Uint8Array(bytes);
  const at = bad.indexOf(0xc3); // é = C3 A9: break its second byte
  bad[at + 1] = 0x41;
  for (const [i, chunks] of twoWaySplits(bad)) {
    assert.deepEqual(decodeChunks(chunks).messages, [{ kind: 'error', error: { responseCode: 'ErrorX', messageText: 'a\ufffdAb', subscriptionIds: [], fault: false } }], `split ${i}`);
  }
  assert.deepEqual(decodeChunks([bytes]).messages.length, 1);
});

test('decoder: server text is kept as sent (control characters are stripped at output time, not here)', () => {
  const text = env('<m:GetStreamingEventsResponseMessage ResponseClass="Error"><m:ResponseCode>ErrorX</m:ResponseCode><m:MessageText>csi\u009b31m&#9;tab</m:MessageText></m:GetStreamingEventsResponseMessage>');
  const [m] = decodeChunks([utf8(text)]).messages;
  assert.ok(m.kind === 'error');
  // XML 1.0 cannot carry C0 controls other than TAB/LF/CR, but C1 controls (U+009B is a terminal CSI) it can.
  assert.equal(m.error.messageText, 'csi\u009b31m\ttab');
});

test('decoder: a fault without an EWS detail keeps its faultcode; one with a detail uses the EWS code', () => {
  const fault = (inner: string): string => `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>${inner}</s:Fault></s:Body></s:Envelope>`;
  const r = decodeChunks([
    utf8(fault('<faultcode>s:Server</faultcode><faultstring>Internal</faultstring>')),
    utf8(fault('<faultcode>a:ErrorSchemaValidation</faultcode><faultstring>bad</faultstring>')),
    utf8(fault('<faultcode>s:Client</faultcode><detail><e:ResponseCode xmlns:e="urn:e">ErrorInvalidRequest</e:ResponseCode><e:Message xmlns:e="urn:e">m</e:Message></detail>')),
  ]);
  assert.deepEqual(r.messages.map((m) => (m.kind === 'error' ? [m.error.responseCode, m.error.messageText, m.error.fault] : m.kind)), [
    ['s:Server', 'Internal', true],
    ['ErrorSchemaValidation', 'bad', true],
    ['ErrorInvalidRequest', 'm', true],
  ]);
});

test('decoder: an envelope with nothing we know emits nothing and is not an error', () => {
  const text = env('<m:SomethingNew><m:Value>1</m:Value></m:SomethingNew>').replace('<m:ResponseMessages>', '<m:Other>').replace('</m:ResponseMessages>', '</m:Other>');
  assert.deepEqual(decodeChunks([utf8(text + HEARTBEAT)]), { messages: [{ kind: 'heartbeat' }] });
});

test("decoder: an error thrown by onMessage propagates unchanged and later input is still decoded", () => {
  const seen: StreamMessage[] = [];
  const boom = new Error('sink failed');
  let fail = true;
  const d = createStreamDecoder({
    onMessage(m) {
      if (fail && m.kind === 'event') {
        fail = false;
        throw boom;
      }
      seen.push(m);
    },
  });
  assert.throws(() => d.feed(utf8(notification(created) + HEARTBEAT)), (err: unknown) => err === boom);
  assert.deepEqual(seen, []);
  d.end(); // the heartbeat left unscanned by the throw is still decoded
  assert.deepEqual(seen, [{ kind: 'heartbeat' }]);
});

test('decoder: when onMessage throws mid-chunk, the rest of a large chunk is not lost', () => {
  const many = HEARTBEAT.repeat(100); // several 16 KiB slices
  const bytes = utf8(notification(created) + many + CLOSED);
  let count = 0;
  let thrown = 0;
  const d = createStreamDecoder({
    onMessage(m) {
      if (m.kind === 'event' && thrown === 0) {
        thrown++;
        throw new Error('once');
      }
      count++;
    },
  });
  assert.ok(bytes.length > 3 * 16 * 1024);
  assert.throws(() => d.feed(bytes), /once/);
  d.feed(new Uint8Array(0));
  d.end();
  assert.equal(count, 101, 'all heartbeats and the Closed');
});

test('decoder: ErrorSubscriptionIds in a message without an error is reported as lost, before its ConnectionStatus', () => {
  const ids = '<m:ErrorSubscriptionIds><m:SubscriptionId>sub-1</m:SubscriptionId><m:SubscriptionId> sub-2 </m:SubscriptionId></m:ErrorSubscriptionIds>';
  const warning = `<m:GetStreamingEventsResponseMessage ResponseClass="Warning"><m:ResponseCode>NoError</m:ResponseCode>${ids}</m:GetStreamingEventsResponseMessage>`;
  const text = env(ok(`${ids}<m:ConnectionStatus>OK</m:ConnectionStatus>`)) + env(warning) + env(ok('<m:ErrorSubscriptionIds/><m:ConnectionStatus>OK</m:ConnectionStatus>'));
  assert.deepEqual(decodeChunks([utf8(text)]).messages, [
    { kind: 'lost', subscriptionIds: ['sub-1', 'sub-2'] },
    { kind: 'heartbeat' },
    { kind: 'lost', subscriptionIds: ['sub-1', 'sub-2'] },
    { kind: 'heartbeat' },
  ]);
});

test('decoder: an error message keeps its ErrorSubscriptionIds on the error, and is not also reported as lost', () => {
  const error = `<m:GetStreamingEventsResponseMessage ResponseClass="Error"><m:MessageText>gone</m:MessageText><m:ResponseCode>ErrorSubscriptionNotFound</m:ResponseCode><m:ErrorSubscriptionIds><m:SubscriptionId>sub-1</m:SubscriptionId></m:ErrorSubscriptionIds><m:ConnectionStatus>Closed</m:ConnectionStatus></m:GetStreamingEventsResponseMessage>`;
  assert.deepEqual(decodeChunks([utf8(env(error))]).messages, [
    { kind: 'error', error: { responseCode: 'ErrorSubscriptionNotFound', messageText: 'gone', subscriptionIds: ['sub-1'], fault: false } },
    { kind: 'closed' },
  ]);
});

// Issue 10, item 1: ids have a sane length (src/ews/limits.ts). An event that breaks it is skipped, not the envelope.
const huge = (n: number): string => 'A'.repeat(n);
const newMail = (n: number, item = `item-${n}`, ck = 'CQAAAA==', ts = '2025-01-02T03:04:05Z', parent = 'inbox-1'): string =>
  `<t:NewMailEvent><t:TimeStamp>${ts}</t:TimeStamp><t:ItemId Id="${item}" ChangeKey="${ck}"/><t:ParentFolderId Id="${parent}"/></t:NewMailEvent>`;
const kinds = (ms: StreamMessage[]): unknown[] => ms.map((m) => (m.kind === 'event' ? m.event.target.id : m.kind === 'skipped' ? m.skipped : m.kind));

test('decoder limits: an event with an absurd ItemId, ChangeKey, parent id or TimeStamp is skipped; its neighbours and the next envelope are not', () => {
  const events = newMail(1) + newMail(2, huge(1025)) + newMail(3) + newMail(4, 'item-4', huge(1025)) + newMail(5, 'item-5', 'CQAAAA==', huge(65)) + newMail(6, 'item-6', 'CQAAAA==', '2025-01-02T03:04:05Z', huge(3_000_000));
  const r = decodeChunks([utf8(notification(events) + HEARTBEAT)]);
  assert.equal(r.error, undefined);
  assert.deepEqual(kinds(r.messages), [
    'item-1',
    { event: 'NewMail', field: 'ItemId', length: 1025 },
    'item-3',
    { event: 'NewMail', field: 'ItemId ChangeKey', length: 1025 },
    { event: 'NewMail', field: 'TimeStamp', length: 65 },
    { event: 'NewMail', field: 'ParentFolderId', length: 3_000_000 },
    'heartbeat',
  ]);
});

test('decoder limits: at the bounds themselves (1024-character ids and ChangeKeys, 64-character TimeStamps) events are kept', () => {
  const id = `I${huge(1023)}`;
  const ck = `C${huge(1023)}`;
  const ts = `2025-01-02T03:04:05.${'0'.repeat(43)}Z`;
  assert.equal(ts.length, 64);
  const r = decodeChunks([utf8(notification(newMail(1, id, ck, ts, `P${huge(1023)}`), `<t:SubscriptionId>S${huge(1023)}</t:SubscriptionId>`))]);
  const m = r.messages[0];
  assert.equal(m?.kind, 'event');
  if (m?.kind !== 'event') return;
  assert.deepEqual([m.event.target, m.event.timestamp, m.event.subscriptionId.length], [{ id, changeKey: ck }, ts, 1024]);
});

test('decoder limits: a Notification with an absurd SubscriptionId has every event skipped, wherever the id stands', () => {
  const sub = `<t:SubscriptionId>${huge(2000)}</t:SubscriptionId>`;
  const before = notification(newMail(1) + newMail(2), sub);
  const after = env(ok(`<m:Notifications><m:Notification>${newMail(3)}${sub}</m:Notification><m:Notification><t:SubscriptionId>sub-1</t:SubscriptionId>${newMail(4)}</m:Notification></m:Notifications>`));
  const skipped = { event: 'NewMail', field: 'SubscriptionId', length: 2000 };
  assert.deepEqual(kinds(decodeChunks([utf8(before + after)]).messages), [skipped, skipped, skipped, 'item-4']);
});

test('decoder limits: an absurd id in ErrorSubscriptionIds is left out (it cannot be ours); long server text is cut', () => {
  const ids = `<m:ErrorSubscriptionIds><m:SubscriptionId>${huge(5000)}</m:SubscriptionId><m:SubscriptionId>sub-1</m:SubscriptionId></m:ErrorSubscriptionIds>`;
  const error = `<m:GetStreamingEventsResponseMessage ResponseClass="Error"><m:MessageText>${'gone '.repeat(2000)}</m:MessageText><m:ResponseCode>ErrorSubscriptionNotFound</m:ResponseCode>${ids}</m:GetStreamingEventsResponseMessage>`;
  const [m] = decodeChunks([utf8(env(error))]).messages;
  assert.equal(m?.kind, 'error');
  if (m?.kind !== 'error') return;
  assert.deepEqual(m.error.subscriptionIds, ['sub-1']);
  assert.equal(m.error.messageText.length, 4096);
});

// Issue 14: one connection carries up to 200 subscriptions of different mailboxes. Every event names its own
// subscription, so a caller can route it to its mailbox; a per-subscription error names only the failed ids.
const groupEnvelope =
  env(
    ok(
      '<m:Notifications>' +
        `<m:Notification><t:SubscriptionId>sub-A</t:SubscriptionId>${newMail(1)}${newMail(2)}</m:Notification>` +
        `<m:Notification><t:SubscriptionId>sub-B</t:SubscriptionId>${newMail(3)}</m:Notification>` +
        `<m:Notification>${newMail(4)}<t:SubscriptionId>sub-C</t:SubscriptionId></m:Notification>` +
        '</m:Notifications>',
    ),
  ) +
  env(
    '<m:GetStreamingEventsResponseMessage ResponseClass="Error"><m:MessageText>The specified subscription was not found.</m:MessageText>' +
      '<m:ResponseCode>ErrorSubscriptionNotFound</m:ResponseCode>' +
      '<m:ErrorSubscriptionIds><m:SubscriptionId>sub-X</m:SubscriptionId><m:SubscriptionId>sub-Y</m:SubscriptionId></m:ErrorSubscriptionIds>' +
      '</m:GetStreamingEventsResponseMessage>' +
      ok(`<m:Notifications><m:Notification><t:SubscriptionId>sub-A</t:SubscriptionId>${newMail(5)}</m:Notification></m:Notifications>`),
  );

test('decoder, many mailboxes: each event of a multi-subscription envelope carries its own SubscriptionId, at every split', () => {
  const expected = [
    ['sub-A', 'item-1'],
    ['sub-A', 'item-2'],
    ['sub-B', 'item-3'],
    ['sub-C', 'item-4'],
    ['error', 'ErrorSubscriptionNotFound', ['sub-X', 'sub-Y']],
    ['sub-A', 'item-5'],
  ];
  const summary = (ms: StreamMessage[]): unknown[] =>
    ms.map((m) => (m.kind === 'event' ? [m.event.subscriptionId, m.event.target.id] : m.kind === 'error' ? ['error', m.error.responseCode, m.error.subscriptionIds] : [m.kind]));
  const bytes = utf8(groupEnvelope);
  assert.deepEqual(summary(decodeChunks([bytes]).messages), expected);
  for (const [i, chunks] of twoWaySplits(bytes)) assert.deepEqual(summary(decodeChunks(chunks).messages), expected, `split at ${i}`);
});

test('decoder, many mailboxes: an Error message without ConnectionStatus fails only its ids; the connection is not reported closed', () => {
  const messages = decodeChunks([utf8(groupEnvelope)]).messages;
  const error = messages.find((m) => m.kind === 'error');
  assert.deepEqual(error, {
    kind: 'error',
    error: { responseCode: 'ErrorSubscriptionNotFound', messageText: 'The specified subscription was not found.', subscriptionIds: ['sub-X', 'sub-Y'], fault: false },
  });
  assert.equal(messages.some((m) => m.kind === 'closed' || m.kind === 'lost'), false);
});

test('decoder: a heartbeat envelope that comes again byte for byte yields the same messages; one that differs in any byte is read anew', () => {
  const twoBeats = notification('<t:StatusEvent/><t:StatusEvent/>');
  // Same length as HEARTBEAT, one name changed: a mismatched end tag.
  const broken = HEARTBEAT.replace('</m:ConnectionStatus>', '</m:ConnectionStatuz>');
  assert.equal(broken.length, HEARTBEAT.length);
  const closing = CLOSED;
  const r = decodeChunks([utf8(HEARTBEAT + HEARTBEAT + notification(created) + HEARTBEAT + twoBeats + twoBeats + HEARTBEAT + closing)]);
  assert.equal(r.error, undefined);
  assert.deepEqual(r.messages, [
    { kind: 'heartbeat' },
    { kind: 'heartbeat' },
    createdEvent,
    { kind: 'heartbeat' },
    { kind: 'heartbeat' },
    { kind: 'heartbeat' },
    { kind: 'heartbeat' },
    { kind: 'heartbeat' },
    { kind: 'heartbeat' },
    { kind: 'closed' },
  ]);
  const bad = decodeChunks([utf8(HEARTBEAT + HEARTBEAT + broken)]);
  assert.deepEqual(bad.messages, [{ kind: 'heartbeat' }, { kind: 'heartbeat' }]);
  assert.ok(bad.errorObject instanceof ProtocolError, 'the same length is not the same text');
  // Each message is an object of its own: a consumer that changes one does not change the next.
  const seen: StreamMessage[] = [];
  const d = createStreamDecoder({ onMessage: (m) => seen.push(m) });
  d.feed(utf8(HEARTBEAT + HEARTBEAT));
  assert.notEqual(seen[0], seen[1]);
});
