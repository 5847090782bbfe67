// The simulator's hostile scenarios of issue 10: an ordinary answer that trickles a byte at a time, an account
// throttled with BackOffMilliseconds 0 ("Suggested backoff time 0 ms"), a stream flooded with an endless comment,
// and the arrival numbers tests order things by.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { elementsOf, gseBody, post, rawPost, subscribe, subscribeBody, textOf } from './helpers.js';
import { getFolderBody, syncItemsBody } from './mailbox-requests.js';

describe('simulator: hostile answers', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ heartbeatMs: 60_000 });
  });
  after(() => sim.close());

  test('trickle: the default answer, one byte per chunk with the pause between; recorded with when it ended', async () => {
    const whole = await post(sim, getFolderBody(['inbox'], 'IdOnly'));
    sim.script('GetFolder', { trickle: { everyMs: 1 } });
    const stream = rawPost(sim, getFolderBody(['inbox'], 'IdOnly'));
    assert.match(await stream.head, /^HTTP\/1\.1 200 /);
    const { ended } = await stream.done.then(() => ({ ended: true }), () => ({ ended: false }));
    assert.ok(ended);
    const bytes = Buffer.byteLength(whole.body);
    assert.equal(stream.chunks.length, bytes, 'one byte per chunk');
    assert.equal(stream.text(), whole.body);
    const record = sim.trickles.at(-1);
    const request = sim.requests.at(-1);
    assert.ok(record && request);
    assert.deepEqual([record.operation, record.seq, record.ended?.complete], ['GetFolder', request.seq, true]);
  });

  test('trickle: a client that gives up leaves it ended, not complete, after the requests that came meanwhile', async () => {
    sim.script('GetFolder', { trickle: { everyMs: 200 } });
    const stream = rawPost(sim, getFolderBody(['inbox'], 'IdOnly'));
    await stream.until((t) => t.length >= 1);
    const other = await post(sim, getFolderBody(['inbox'], 'IdOnly'));
    assert.equal(other.status, 200);
    const otherSeq = sim.requests.at(-1)!.seq;
    stream.destroy();
    await sim.waitFor(() => sim.trickles.at(-1)?.ended !== undefined);
    const ended = sim.trickles.at(-1)!.ended!;
    assert.equal(ended.complete, false);
    assert.ok(otherSeq <= ended.afterRequests, 'the other request came before it ended');
  });

  test('seq numbers every request in arrival order', async () => {
    const before = sim.requests.at(-1)?.seq ?? 0;
    await post(sim, getFolderBody(['inbox'], 'IdOnly'));
    await post(sim, getFolderBody(['inbox'], 'IdOnly'));
    assert.deepEqual(sim.requests.slice(-2).map((r) => r.seq), [before + 1, before + 2]);
  });

  test('throttle: ErrorServerBusy with BackOffMilliseconds 0 in the form of each operation, until the time is up', async () => {
    const sub = await subscribe(sim);
    const over = Date.now() + 1500;
    sim.throttle(['Subscribe', 'GetStreamingEvents', 'SyncFolderItems'], { forMs: 1500 });
    const subscribing = await post(sim, subscribeBody());
    assert.equal(subscribing.status, 500, 'Subscribe: a SOAP fault');
    assert.equal(textOf(subscribing.body, 'ResponseCode'), 'ErrorServerBusy');
    assert.equal(elementsOf(subscribing.body).find((e) => e.local === 'Value' && e.attrs.Name === 'BackOffMilliseconds')?.text, '0');
    assert.match(subscribing.body, /Suggested backoff time 0 ms\./);
    const syncing = await post(sim, syncItemsBody());
    assert.equal(syncing.status, 200, 'SyncFolderItems: an error message');
    assert.equal(elementsOf(syncing.body).find((e) => e.local === 'SyncFolderItemsResponseMessage')?.attrs.ResponseClass, 'Error');
    assert.equal(textOf(syncing.body, 'ResponseCode'), 'ErrorServerBusy');
    const stream = rawPost(sim, gseBody([sub.id]), { Cookie: sub.cookie });
    await stream.done;
    assert.equal(textOf(stream.text(), 'ResponseCode'), 'ErrorServerBusy');
    assert.equal(textOf(stream.text(), 'ConnectionStatus'), 'Closed');
    assert.equal((await post(sim, getFolderBody(['inbox'], 'IdOnly'))).status, 200, 'other operations are not throttled');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, over - Date.now()) + 50));
    assert.equal((await post(sim, subscribeBody())).status, 200, 'over when the time is up');
  });

  test('flood: text written again and again until the client goes, recorded once', async () => {
    const sub = await subscribe(sim);
    sim.script('GetStreamingEvents', [{ op: 'raw', text: '<!--' }, { op: 'repeat', text: ' not a heartbeat -' }]);
    const stream = rawPost(sim, gseBody([sub.id]), { Cookie: sub.cookie });
    await stream.until((t) => t.length > 1_000_000, 10_000);
    stream.destroy();
    assert.deepEqual(await stream.done, { ended: false });
    const sent = sim.sent.slice(-2).map((e) => [e.kind, e.xml]);
    assert.deepEqual(sent, [['raw', '<!--'], ['raw', ' not a heartbeat -']]);
    assert.ok(stream.text().startsWith('<!-- not a heartbeat - not a heartbeat -'));
  });

  test('flood with bytes: stops after that many, then the next step', async () => {
    const sub = await subscribe(sim);
    sim.script('GetStreamingEvents', [{ op: 'repeat', text: ' ', bytes: 100_000 }, { op: 'end' }]);
    const stream = rawPost(sim, gseBody([sub.id]), { Cookie: sub.cookie });
    assert.deepEqual(await stream.done, { ended: true });
    assert.equal(stream.text(), ' '.repeat(100_000));
  });
});
