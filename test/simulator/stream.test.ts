// GetStreamingEvents as the simulator serves it by default: the exact wire framing, heartbeats, Closed at the
// (shortened) ConnectionTimeout, new-mail notifications, queueing across connections and takeovers.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { NS, elementsOf, gseBody, rawPost, splitEnvelopes, subscribe, textOf, unsubscribeBody, post } from './helpers.js';

const SOAP_START = '<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><soap11:Header';

const statusesOf = (text: string): Array<string | undefined> => splitEnvelopes(text).map((e) => textOf(e, 'ConnectionStatus'));
const notificationsIn = (text: string): string[] => splitEnvelopes(text).filter((e) => e.includes('<m:Notifications>'));

describe('simulator stream (default behaviour)', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ heartbeatMs: 40, minuteMs: 250 });
  });
  after(() => sim.close());

  test('stream framing: chunked 200, envelopes back to back without <?xml, heartbeats then Closed at the timeout', async () => {
    const { id, cookie } = await subscribe(sim);
    const opened = Date.now();
    const stream = rawPost(sim, gseBody([id], 1), { Cookie: cookie });
    const head = await stream.head;
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head, /\r\nTransfer-Encoding: chunked\r\n/i);
    assert.match(head, /\r\nX-NoBuffering: 1\r\n/i);
    assert.match(head, /\r\nCache-Control: private\r\n/i);
    assert.match(head, /\r\nContent-Type: text\/xml; charset=utf-8\r\n/i);
    assert.doesNotMatch(head, /Content-Encoding|Content-Length/i);
    const { ended } = await stream.done;
    const elapsed = Date.now() - opened;
    assert.equal(ended, true, 'the chunked body ends with the zero-size chunk');
    const text = stream.text();
    assert.ok(text.startsWith(SOAP_START), text.slice(0, 80));
    assert.ok(!text.includes('<?xml'));
    const envelopes = splitEnvelopes(text);
    assert.deepEqual(envelopes.join(''), text, 'nothing between envelopes');
    assert.deepEqual(
      stream.chunks.map((c) => c.toString('utf8')),
      envelopes,
      'each envelope is written as one chunk',
    );
    const statuses = statusesOf(text);
    assert.equal(statuses.at(-1), 'Closed');
    assert.ok(statuses.length >= 3, `heartbeats before Closed: ${statuses.join(',')}`);
    assert.ok(statuses.slice(0, -1).every((s) => s === 'OK'));
    assert.ok(elapsed >= 240 && elapsed < 3000, `Closed after one (250 ms) minute, got ${elapsed} ms`);
    for (const envelope of envelopes) {
      assert.match(envelope, /^<Envelope xmlns="[^"]+"><soap11:Header xmlns:soap11="http:\/\/schemas\.xmlsoap\.org\/soap\/envelope\/"><ServerVersionInfo /);
      assert.match(envelope, /<soap11:Body xmlns:soap11="http:\/\/schemas\.xmlsoap\.org\/soap\/envelope\/"><m:GetStreamingEventsResponse /);
      const els = elementsOf(envelope);
      assert.deepEqual([els[0]!.uri, els[0]!.local], [NS.soap, 'Envelope']);
      const svi = els.find((e) => e.local === 'ServerVersionInfo')!;
      assert.deepEqual([svi.uri, svi.attrs.MajorVersion, svi.attrs.Version], [NS.t, '15', 'V2017_07_11']);
      const message = els.find((e) => e.local === 'GetStreamingEventsResponseMessage')!;
      assert.deepEqual([message.uri, message.attrs.ResponseClass], [NS.m, 'Success']);
      assert.equal(textOf(envelope, 'ResponseCode'), 'NoError');
    }
  });

  test('a new mail is one envelope with CreatedEvent, NewMailEvent and the inbox ModifiedEvent', async () => {
    const { id, cookie } = await subscribe(sim);
    const stream = rawPost(sim, gseBody([id], 30), { Cookie: cookie });
    await stream.until((t) => t.includes('<m:ConnectionStatus>OK'));
    const change = sim.deliverMail({ subject: 'Quarterly report', from: { name: 'Zoë', address: 'zoe@contoso.com' } });
    const text = await stream.until((t) => notificationsIn(t).length === 1);
    stream.destroy();
    const envelope = notificationsIn(text)[0]!;
    const els = elementsOf(envelope);
    const notification = els.filter((e) => e.local === 'Notification');
    assert.equal(notification.length, 1);
    assert.equal(notification[0]!.uri, NS.m, 'Notification is in the messages namespace, as Exchange sends it');
    assert.equal(textOf(envelope, 'SubscriptionId'), id);
    const events = els.filter((e) => e.path.at(-2) === 'Notification' && e.local !== 'SubscriptionId');
    assert.deepEqual(events.map((e) => [e.uri, e.local]), [[NS.t, 'CreatedEvent'], [NS.t, 'NewMailEvent'], [NS.t, 'ModifiedEvent']]);
    assert.equal(textOf(envelope, 'ConnectionStatus'), undefined, 'no ConnectionStatus beside Notifications');
    const inbox = sim.folder('inbox')!;
    const root = sim.folder('msgfolderroot')!;
    const itemIds = els.filter((e) => e.local === 'ItemId');
    assert.deepEqual(itemIds.map((e) => e.attrs.Id), [change.item!.id, change.item!.id]);
    // [ews] as Exchange does: placeholder ChangeKeys (the type prefix alone) on every id, never the real one
    assert.deepEqual(itemIds.map((e) => e.attrs.ChangeKey), ['CQAAAA==', 'CQAAAA==']);
    assert.ok(!envelope.includes(change.item!.changeKey) && !envelope.includes(inbox.changeKey), 'no real ChangeKey in a notification');
    const parents = els.filter((e) => e.local === 'ParentFolderId');
    assert.deepEqual(parents.map((e) => e.attrs.Id), [inbox.id, inbox.id, root.id]);
    const folderId = els.find((e) => e.local === 'FolderId')!;
    assert.equal(folderId.attrs.Id, inbox.id);
    assert.deepEqual([...parents, folderId].map((e) => e.attrs.ChangeKey), ['AQAAAA==', 'AQAAAA==', 'AQAAAA==', 'AQAAAA==']);
    assert.equal(textOf(envelope, 'UnreadCount'), String(inbox.unreadCount));
    const stamps = els.filter((e) => e.local === 'TimeStamp').map((e) => e.text);
    assert.equal(stamps.length, 3);
    assert.ok(stamps.every((s) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(s)), stamps.join());
  });

  test('events raised while no connection is open are queued and delivered on the next GetStreamingEvents', async () => {
    const { id, cookie } = await subscribe(sim);
    const first = rawPost(sim, gseBody([id], 30), { Cookie: cookie });
    await first.until((t) => t.includes('<m:ConnectionStatus>OK'));
    first.destroy();
    await sim.waitFor(() => sim.connections().every((c) => !c.subscriptionIds.includes(id)));
    const a = sim.deliverMail({ subject: 'one' });
    const b = sim.deliverMail({ subject: 'two' });
    assert.equal(sim.subscriptions().find((s) => s.id === id)!.queued, 6);
    const second = rawPost(sim, gseBody([id], 30), { Cookie: cookie });
    const text = await second.until((t) => t.includes('</Envelope>'));
    second.destroy();
    const firstEnvelope = splitEnvelopes(text)[0]!;
    assert.ok(firstEnvelope.includes('<m:Notifications>'), 'queued events come first, before any heartbeat');
    const itemIds = elementsOf(firstEnvelope).filter((e) => e.local === 'ItemId').map((e) => e.attrs.Id);
    assert.deepEqual(itemIds, [a.item!.id, a.item!.id, b.item!.id, b.item!.id]);
    assert.equal(sim.subscriptions().find((s) => s.id === id)!.queued, 0);
  });

  test('a second GetStreamingEvents on the subscription ends the first with ErrorNewEventStreamConnectionOpened', async () => {
    const { id, cookie } = await subscribe(sim);
    const first = rawPost(sim, gseBody([id], 30), { Cookie: cookie });
    await first.until((t) => t.includes('<m:ConnectionStatus>OK'));
    const second = rawPost(sim, gseBody([id], 30), { Cookie: cookie });
    const { ended } = await first.done;
    assert.equal(ended, true);
    const last = splitEnvelopes(first.text()).at(-1)!;
    const els = elementsOf(last);
    assert.equal(els.find((e) => e.local === 'GetStreamingEventsResponseMessage')!.attrs.ResponseClass, 'Error');
    assert.equal(textOf(last, 'ResponseCode'), 'ErrorNewEventStreamConnectionOpened');
    assert.ok((textOf(last, 'MessageText') ?? '').length > 0);
    const errorId = els.find((e) => e.local === 'SubscriptionId' && e.path.includes('ErrorSubscriptionIds'))!;
    assert.deepEqual([errorId.uri, errorId.text], [NS.m, id]);
    assert.equal(textOf(last, 'ConnectionStatus'), 'Closed');
    // The new connection owns the subscription now.
    await second.until((t) => t.includes('<m:ConnectionStatus>OK'));
    const change = sim.deliverMail({ subject: 'after takeover' });
    const text = await second.until((t) => notificationsIn(t).length === 1);
    second.destroy();
    assert.ok(text.includes(change.item!.id));
  });

  test('an unknown subscription id gets HTTP 200 with an in-stream ErrorSubscriptionNotFound and Closed', async () => {
    const unknown = Buffer.concat([Buffer.from([0x15, 0]), Buffer.from('EXSIM01.contoso.local'), Buffer.alloc(48, 7)]).toString('base64');
    const stream = rawPost(sim, gseBody([unknown], 1));
    assert.match(await stream.head, /^HTTP\/1\.1 200 OK/);
    assert.deepEqual(await stream.done, { ended: true });
    const envelopes = splitEnvelopes(stream.text());
    assert.equal(envelopes.length, 1);
    const [only] = envelopes;
    assert.equal(textOf(only!, 'ResponseCode'), 'ErrorSubscriptionNotFound');
    assert.equal(textOf(only!, 'MessageText'), 'The specified subscription was not found.');
    assert.equal(elementsOf(only!).find((e) => e.path.includes('ErrorSubscriptionIds') && e.local === 'SubscriptionId')!.text, unknown);
    assert.equal(textOf(only!, 'ConnectionStatus'), 'Closed');
    const malformed = rawPost(sim, gseBody(['not an id!'], 1));
    await malformed.done;
    assert.equal(textOf(malformed.text(), 'ResponseCode'), 'ErrorInvalidSubscription');
  });

  test('Unsubscribe while streaming ends the stream with ErrorSubscriptionUnsubscribed; the id is then unknown', async () => {
    const { id, cookie } = await subscribe(sim);
    const stream = rawPost(sim, gseBody([id], 30), { Cookie: cookie });
    await stream.until((t) => t.includes('<m:ConnectionStatus>OK'));
    const answer = await post(sim, unsubscribeBody(id), { cookie });
    assert.equal(textOf(answer.body, 'ResponseCode'), 'NoError');
    await stream.done;
    const last = splitEnvelopes(stream.text()).at(-1)!;
    assert.equal(textOf(last, 'ResponseCode'), 'ErrorSubscriptionUnsubscribed');
    assert.equal(textOf(last, 'ConnectionStatus'), 'Closed');
    const again = await post(sim, unsubscribeBody(id), { cookie });
    assert.equal(again.status, 200);
    assert.equal(textOf(again.body, 'ResponseCode'), 'ErrorSubscriptionNotFound');
    assert.equal(elementsOf(again.body).find((e) => e.local === 'UnsubscribeResponseMessage')!.attrs.ResponseClass, 'Error');
  });

  test('expireSubscription: the open stream gets the error, later connections get ErrorSubscriptionNotFound', async () => {
    const { id, cookie } = await subscribe(sim);
    const stream = rawPost(sim, gseBody([id], 30), { Cookie: cookie });
    await stream.until((t) => t.includes('<m:ConnectionStatus>OK'));
    assert.equal(sim.expireSubscription(id, 'ErrorExpiredSubscription'), true);
    await stream.done;
    assert.equal(textOf(splitEnvelopes(stream.text()).at(-1)!, 'ResponseCode'), 'ErrorExpiredSubscription');
    const next = rawPost(sim, gseBody([id], 1), { Cookie: cookie });
    await next.done;
    assert.equal(textOf(next.text(), 'ResponseCode'), 'ErrorSubscriptionNotFound');
  });

  test('routing: folder and event-type filters, soft delete is a MovedEvent to Deleted Items', async () => {
    const deleted = await subscribe(sim, ['deleteditems']);
    const all = await subscribe(sim, 'all', ['NewMailEvent']);
    const s1 = rawPost(sim, gseBody([deleted.id], 30), { Cookie: deleted.cookie });
    const s2 = rawPost(sim, gseBody([all.id], 30), { Cookie: all.cookie });
    await Promise.all([s1, s2].map((s) => s.until((t) => t.includes('<m:ConnectionStatus>OK'))));
    const mail = sim.deliverMail({ subject: 'route me' });
    const allText = await s2.until((t) => notificationsIn(t).length === 1);
    const newMailOnly = elementsOf(notificationsIn(allText)[0]!).filter((e) => e.local.endsWith('Event')).map((e) => e.local);
    assert.deepEqual(newMailOnly, ['NewMailEvent']);
    assert.equal(sim.sent.filter((s) => s.kind === 'notification' && s.subscriptionIds.includes(deleted.id)).length, 0);
    const moved = sim.deleteItem(mail.item!.id);
    const text = await s1.until((t) => notificationsIn(t).length === 1);
    s1.destroy();
    s2.destroy();
    const els = elementsOf(notificationsIn(text)[0]!);
    assert.deepEqual(els.filter((e) => e.local.endsWith('Event')).map((e) => e.local), ['MovedEvent', 'ModifiedEvent']);
    const attr = (local: string) => els.find((e) => e.local === local)!.attrs.Id;
    assert.equal(attr('ItemId'), moved.item!.id);
    assert.notEqual(moved.item!.id, mail.item!.id, 'a move gives the item a new id');
    assert.equal(attr('OldItemId'), mail.item!.id);
    assert.equal(attr('OldParentFolderId'), sim.folder('inbox')!.id);
    assert.equal(attr('FolderId'), sim.folder('deleteditems')!.id);
  });

  test('one connection for two subscriptions: one envelope with one m:Notification per subscription', async () => {
    const a = await subscribe(sim, ['inbox'], ['NewMailEvent']);
    const b = await subscribe(sim, ['inbox'], ['CreatedEvent']);
    const stream = rawPost(sim, gseBody([a.id, b.id], 30), { Cookie: a.cookie });
    await stream.until((t) => t.includes('<m:ConnectionStatus>OK'));
    sim.deliverMail({ subject: 'for both' });
    const text = await stream.until((t) => notificationsIn(t).length === 1);
    stream.destroy();
    const els = elementsOf(notificationsIn(text)[0]!);
    const perNotification = els
      .filter((e) => e.local === 'SubscriptionId' || e.local.endsWith('Event'))
      .map((e) => (e.local === 'SubscriptionId' ? e.text : e.local));
    assert.deepEqual(perNotification, [a.id, 'NewMailEvent', b.id, 'CreatedEvent']);
  });

  test('dropConnections destroys open streams without Closed; the subscription survives', async () => {
    const { id, cookie } = await subscribe(sim);
    const stream = rawPost(sim, gseBody([id], 30), { Cookie: cookie });
    await stream.until((t) => t.includes('<m:ConnectionStatus>OK'));
    assert.ok(sim.dropConnections() >= 1);
    assert.deepEqual(await stream.done, { ended: false });
    assert.ok(!stream.text().includes('Closed'));
    assert.equal(sim.subscriptions().some((s) => s.id === id), true);
  });
});

test('a queue overflow while disconnected is reported as ErrorMissedNotificationEvents before the kept events', async () => {
  const sim = await startSimulator({ maxQueuedEvents: 4 });
  try {
    const { id, cookie } = await subscribe(sim);
    sim.deliverMail({ subject: 'one' });
    const second = sim.deliverMail({ subject: 'two' });
    const stream = rawPost(sim, gseBody([id], 30), { Cookie: cookie });
    const text = await stream.until((t) => splitEnvelopes(t).length >= 2);
    stream.destroy();
    const [missed, kept] = splitEnvelopes(text);
    assert.equal(textOf(missed!, 'ResponseCode'), 'ErrorMissedNotificationEvents');
    assert.equal(textOf(missed!, 'ConnectionStatus'), undefined, 'the connection carries on');
    const events = elementsOf(kept!).filter((e) => e.local.endsWith('Event')).map((e) => e.local);
    assert.deepEqual(events, ['ModifiedEvent', 'CreatedEvent', 'NewMailEvent', 'ModifiedEvent'], 'the newest four');
    assert.ok(kept!.includes(second.item!.id));
  } finally {
    await sim.close();
  }
});

describe("simulator: lostSubscriptions 'gromox' (a lost subscription reported without an error code; ids reissued)", () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ lostSubscriptions: 'gromox', heartbeatMs: 60_000 });
  });
  after(() => sim.close());
  const gromoxEnvelopes = (text: string): string[] => text.split(/(?=<\?xml )/).filter((e) => e !== '');
  // gromox uses m:/t: without declaring them (ews-samples README), so a namespace-aware parser refuses these: regexes.
  const textOf = (xml: string, local: string): string | undefined => new RegExp(`<(?:\\w+:)?${local}>([^<]*)</`).exec(xml)?.[1];

  test('ids are gromox counters, the lowest free one first', async () => {
    const a = await subscribe(sim);
    const b = await subscribe(sim);
    assert.deepEqual([a.id, b.id], ['BAAAAAFAAAAA', 'BAAAAAFAAAAB']);
    assert.equal((await post(sim, unsubscribeBody(a.id))).status, 200);
    assert.equal((await subscribe(sim)).id, 'BAAAAAFAAAAA', 'a freed id goes to the next subscriber');
    for (const id of ['BAAAAAFAAAAA', 'BAAAAAFAAAAB']) await post(sim, unsubscribeBody(id));
  });

  test('expireSubscription: an OK envelope with no ResponseCode lists the id in ErrorSubscriptionIds, then Closed ends the response', async () => {
    const { id, cookie } = await subscribe(sim);
    const stream = rawPost(sim, gseBody([id], 30), { Cookie: cookie });
    await stream.until((t) => t.includes('<m:ConnectionStatus>OK'));
    assert.equal(sim.expireSubscription(id), true);
    assert.deepEqual(await stream.done, { ended: true });
    const [lost, closed] = gromoxEnvelopes(stream.text()).slice(-2);
    assert.equal(textOf(lost!, 'ConnectionStatus'), 'OK');
    assert.equal(textOf(lost!, 'ResponseCode'), undefined, 'no error code at all');
    assert.equal(lost!.includes('ResponseClass'), false, 'no ResponseClass');
    assert.deepEqual([...lost!.matchAll(/<m:ErrorSubscriptionIds>(.*?)<\/m:ErrorSubscriptionIds>/g)].map((m) => m[1]), [`<m:SubscriptionId>${id}</m:SubscriptionId>`]);
    assert.equal(textOf(closed!, 'ConnectionStatus'), 'Closed');
    assert.deepEqual(sim.sent.slice(-2).map((s) => [s.kind, s.subscriptionIds]), [['lost', [id]], ['closed', []]]);
    assert.equal(sim.subscriptions().length, 0);
  });

  test('a GetStreamingEvents naming an id it does not hold gets the same two envelopes; a new subscriber then gets that id', async () => {
    const stale = 'BAAAAAFAAAAA';
    const stream = rawPost(sim, gseBody([stale], 30));
    await stream.done;
    const envelopes = gromoxEnvelopes(stream.text());
    assert.deepEqual(envelopes.map((e) => textOf(e, 'ConnectionStatus')), ['OK', 'Closed']);
    assert.equal(envelopes.some((e) => textOf(e, 'ResponseCode') !== undefined), false);
    assert.equal((await subscribe(sim)).id, stale, 'the dead id is handed to the next subscriber');
  });
});
