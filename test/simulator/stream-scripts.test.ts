// Scripted GetStreamingEvents misbehaviour: splits at chosen byte counts, drops mid-envelope, stalls, ends
// without Closed, in-stream errors that expire the subscription, batches, and the hand-over to default behaviour.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { buildHeartbeatEnvelope } from '../../src/simulator/stream-envelopes.js';
import { elementsOf, gseBody, rawPost, splitEnvelopes, subscribe, textOf } from './helpers.js';

const HEARTBEAT = buildHeartbeatEnvelope();
const statusesOf = (text: string): Array<string | undefined> => splitEnvelopes(text).map((e) => textOf(e, 'ConnectionStatus'));

describe('simulator stream scripts', () => {
  let sim: Simulator;
  let sub: { id: string; cookie: string };
  const open = (minutes = 30) => rawPost(sim, gseBody([sub.id], minutes), { Cookie: sub.cookie });

  before(async () => {
    sim = await startSimulator({ heartbeatMs: 1000, minuteMs: 200 });
    sub = await subscribe(sim);
  });
  after(() => sim.close());

  test('split: an envelope is written in chunks of the given sizes, the rest last', async () => {
    sim.script('GetStreamingEvents', [{ op: 'heartbeat', split: [5, 17, 3], pauseMs: 2 }, { op: 'closed' }]);
    const stream = open();
    assert.deepEqual(await stream.done, { ended: true });
    const sizes = stream.chunks.map((c) => c.length);
    assert.deepEqual(sizes.slice(0, 4), [5, 17, 3, Buffer.byteLength(HEARTBEAT) - 25]);
    assert.equal(sizes.length, 5, 'then the Closed envelope as one chunk');
    assert.deepEqual(statusesOf(stream.text()), ['OK', 'Closed']);
    assert.equal(sim.pendingScripts('GetStreamingEvents'), 0);
  });

  test("split 'bytes': one byte per chunk, and the envelope still reassembles", async () => {
    sim.script('GetStreamingEvents', [{ op: 'heartbeat', split: 'bytes', pauseMs: 0 }, { op: 'end' }]);
    const stream = open();
    await stream.done;
    assert.equal(stream.chunks.length, Buffer.byteLength(HEARTBEAT));
    assert.ok(stream.chunks.every((c) => c.length === 1));
    assert.equal(stream.text(), HEARTBEAT);
  });

  test('batch: several envelopes in a single chunk', async () => {
    sim.script('GetStreamingEvents', [{ op: 'batch', steps: [{ op: 'heartbeat' }, { op: 'newMail', subject: 'batched' }, { op: 'closed' }] }]);
    const stream = open();
    assert.deepEqual(await stream.done, { ended: true });
    assert.equal(stream.chunks.length, 1);
    const envelopes = splitEnvelopes(stream.text());
    assert.deepEqual(statusesOf(stream.text()), ['OK', undefined, 'Closed']);
    assert.ok(envelopes[1]!.includes('<t:NewMailEvent>'));
  });

  test('drop: part of an envelope, then the socket is destroyed without the terminating chunk', async () => {
    sim.script('GetStreamingEvents', [{ op: 'heartbeat' }, { op: 'drop', envelope: 'newMail', bytes: 300 }]);
    const before = sim.items('inbox').length;
    const stream = open();
    assert.deepEqual(await stream.done, { ended: false });
    const text = stream.text();
    assert.ok(text.startsWith(HEARTBEAT));
    const partial = text.slice(HEARTBEAT.length);
    assert.equal(partial.length, 300);
    assert.ok(partial.startsWith('<Envelope') && !partial.includes('</Envelope>'));
    assert.equal(sim.items('inbox').length, before + 1, 'the mail itself was delivered');
    assert.equal(sim.sent.at(-1)!.kind, 'partial');
  });

  test('stall: headers, then silence; queued events wait for the next connection', async () => {
    sim.script('GetStreamingEvents', [{ op: 'stall' }]);
    const stream = open();
    assert.match(await stream.head, /^HTTP\/1\.1 200 OK/);
    await sim.waitFor(() => sim.connections().some((c) => c.mode === 'stalled'));
    const sentBefore = sim.sent.length;
    const mail = sim.deliverMail({ subject: 'while stalled' });
    assert.equal(sim.sent.length, sentBefore, 'a stalled stream sends nothing');
    assert.equal(stream.text(), '');
    stream.destroy();
    await sim.waitFor(() => sim.connections().length === 0);
    const next = open();
    const text = await next.until((t) => t.includes('</Envelope>'));
    next.destroy();
    assert.ok(splitEnvelopes(text)[0]!.includes(mail.item!.id));
  });

  test('end: the body ends cleanly without ConnectionStatus Closed', async () => {
    sim.script('GetStreamingEvents', [{ op: 'heartbeat' }, { op: 'end' }]);
    const stream = open();
    assert.deepEqual(await stream.done, { ended: true });
    assert.deepEqual(statusesOf(stream.text()), ['OK']);
  });

  test('in-stream error with expire: Closed after it, and the subscription is gone for the next request', async () => {
    const lost = await subscribe(sim);
    sim.script('GetStreamingEvents', [{ op: 'error', code: 'ErrorSubscriptionNotFound', expire: true }]);
    const stream = rawPost(sim, gseBody([lost.id], 1), { Cookie: lost.cookie });
    assert.deepEqual(await stream.done, { ended: true });
    const [only] = splitEnvelopes(stream.text());
    assert.equal(textOf(only!, 'ResponseCode'), 'ErrorSubscriptionNotFound');
    assert.equal(elementsOf(only!).find((e) => e.path.includes('ErrorSubscriptionIds') && e.local === 'SubscriptionId')!.text, lost.id);
    assert.equal(textOf(only!, 'ConnectionStatus'), 'Closed');
    assert.equal(sim.subscriptions().some((s) => s.id === lost.id), false);
    const next = rawPost(sim, gseBody([lost.id], 1), { Cookie: lost.cookie });
    await next.done;
    assert.equal(textOf(next.text(), 'ResponseCode'), 'ErrorSubscriptionNotFound');
  });

  test('error with close:false (missed events) and a ServerBusy back-off, then the default behaviour takes over', async () => {
    sim.script('GetStreamingEvents', [
      { op: 'error', code: 'ErrorMissedNotificationEvents', close: false },
      { op: 'error', code: 'ErrorServerBusy', backOffMs: 4321, close: false },
    ]);
    const stream = open(1);
    assert.deepEqual(await stream.done, { ended: true });
    const envelopes = splitEnvelopes(stream.text());
    assert.equal(textOf(envelopes[0]!, 'ResponseCode'), 'ErrorMissedNotificationEvents');
    assert.equal(textOf(envelopes[0]!, 'ConnectionStatus'), undefined);
    const value = elementsOf(envelopes[1]!).find((e) => e.local === 'Value')!;
    assert.deepEqual([value.attrs.Name, value.text], ['BackOffMilliseconds', '4321']);
    assert.equal(textOf(envelopes.at(-1)!, 'ConnectionStatus'), 'Closed', 'Closed at the (200 ms) ConnectionTimeout');
  });

  test('wait, explicit notify and raw bytes', async () => {
    const inbox = sim.folder('inbox')!;
    sim.script('GetStreamingEvents', [
      { op: 'wait', ms: 30 },
      {
        op: 'notify',
        events: [{ type: 'FreeBusyChangedEvent', timestamp: '2024-01-02T03:04:05Z', kind: 'item', id: { id: 'AAMkAAA=', changeKey: 'DwAAAA==' }, parent: { id: inbox.id } }],
      },
      { op: 'raw', text: '<?xml version="1.0" encoding="utf-8"?>' },
      { op: 'closed' },
    ]);
    const stream = open();
    await stream.done;
    const [first, second] = stream.chunks.map((c) => c.toString('utf8'));
    const els = elementsOf(first!);
    assert.deepEqual(els.filter((e) => e.local.endsWith('Event')).map((e) => e.local), ['FreeBusyChangedEvent']);
    assert.equal(els.find((e) => e.local === 'ItemId')!.attrs.ChangeKey, 'DwAAAA==');
    assert.equal(textOf(first!, 'SubscriptionId'), sub.id);
    assert.equal(second, '<?xml version="1.0" encoding="utf-8"?>');
    const request = sim.requests.at(-1)!;
    const firstSent = sim.sent.find((s) => s.kind === 'notification' && s.at >= request.at)!;
    // Date.now() has millisecond steps and timers are not exact to the millisecond: allow a little slack.
    assert.ok(firstSent.at - request.at >= 25, 'the wait step delayed the first write');
  });

  test('flood, padded: new mails, each envelope padded with whitespace to exactly padTo bytes, real ChangeKeys; sent keeps no padding', async () => {
    const inboxBefore = sim.items('inbox').length;
    const sentBefore = sim.sent.length;
    sim.script('GetStreamingEvents', [{ op: 'flood', count: 3, padTo: 200_000, changeKeys: 'real' }, { op: 'closed' }]);
    const stream = open();
    assert.deepEqual(await stream.done, { ended: true });
    const envelopes = splitEnvelopes(stream.text());
    assert.equal(envelopes.length, 4);
    const items = sim.items('inbox').slice(inboxBefore);
    assert.deepEqual(items.map((i) => i.subject), ['flood 1', 'flood 2', 'flood 3']);
    envelopes.slice(0, 3).forEach((xml, n) => {
      assert.equal(Buffer.byteLength(xml), 200_000);
      const item = elementsOf(xml).filter((e) => e.local === 'ItemId');
      assert.deepEqual(item.map((e) => [e.attrs.Id, e.attrs.ChangeKey]), [[items[n]!.id, items[n]!.changeKey], [items[n]!.id, items[n]!.changeKey]], 'Created and NewMail');
      assert.equal(items[n]!.changeKey.length, 40);
    });
    const floods = sim.sent.slice(sentBefore).filter((e) => e.bytes !== undefined);
    assert.deepEqual(floods.map((e) => [e.kind, e.bytes, e.events?.length]), [['notification', 200_000, 3], ['notification', 200_000, 3], ['notification', 200_000, 3]]);
    assert.ok(floods.every((e) => e.xml.length < 5000), 'the padding is not kept');
  });

  test('flood, absurd ids: NewMailEvents about ItemIds of itemIdChars characters, no mail delivered; sent keeps 4 KiB of each', async () => {
    const inboxBefore = sim.items('inbox').length;
    sim.script('GetStreamingEvents', [{ op: 'flood', count: 2, itemIdChars: 100_000 }, { op: 'closed' }]);
    const stream = open();
    assert.deepEqual(await stream.done, { ended: true });
    const envelopes = splitEnvelopes(stream.text());
    assert.equal(envelopes.length, 3);
    const ids = envelopes.slice(0, 2).map((xml) => elementsOf(xml).find((e) => e.local === 'ItemId')!.attrs.Id!);
    assert.deepEqual(ids.map((id) => id.length), [100_000, 100_000]);
    assert.notEqual(ids[0], ids[1]);
    assert.equal(sim.items('inbox').length, inboxBefore);
    const floods = sim.sent.filter((e) => e.bytes !== undefined).slice(-2);
    assert.ok(floods.every((e) => e.xml.length === 4097 && e.events === undefined && e.bytes! > 100_000));
  });

  test('close() ends a stalled stream promptly', async () => {
    const local = await startSimulator();
    const s = await subscribe(local);
    local.script('GetStreamingEvents', [{ op: 'stall' }]);
    const stream = rawPost(local, gseBody([s.id], 30), { Cookie: s.cookie });
    await stream.head;
    await local.close();
    assert.deepEqual(await stream.done, { ended: false });
    assert.equal(local.connections().length, 0);
  });
});
