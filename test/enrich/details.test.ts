// --details lookups: batching, retries of a busy server or a network failure, per-item errors, bounds, closing.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EwsResponseError, ProtocolError, TransportError } from '../../src/errors.js';
import { boundDetails, createDetailsSource, MAX_RECIPIENTS, retryDelay } from '../../src/enrich/details.js';
import { createFakeClock } from '../support/fake-clock.js';
import { fakeClient, mail } from './helpers.js';

describe('details source', () => {
  it('ten ids per GetItem at most, the rest in the next call; outcomes by id', async () => {
    const clock = createFakeClock();
    const client = fakeClient();
    for (let i = 0; i < 12; i += 1) client.items.set(`id${i}`, mail(`s${i}`, 'N', 'n@x'));
    const src = createDetailsSource({ client, clock });
    const got = Promise.all(Array.from({ length: 12 }, (_, i) => src.get(`id${i}`)));
    await clock.runUntil(got);
    assert.deepEqual(client.itemCalls.map((c) => c.length), [10, 2]);
    const out = await got;
    assert.deepEqual(out.map((o) => (o.ok ? o.details.subject : o.error)), Array.from({ length: 12 }, (_, i) => `s${i}`));
  });

  it('an item that is gone gets ErrorItemNotFound while the rest of its batch gets details', async () => {
    const clock = createFakeClock();
    const client = fakeClient();
    client.items.set('here', mail('Hello', 'Bob', 'bob@x'));
    const src = createDetailsSource({ client, clock });
    const got = Promise.all([src.get('here'), src.get('gone')]);
    await clock.runUntil(got);
    assert.deepEqual(await got, [{ ok: true, details: mail('Hello', 'Bob', 'bob@x') }, { ok: false, error: 'ErrorItemNotFound' }]);
    assert.equal(client.itemCalls.length, 1);
  });

  it("ErrorServerBusy: waits the server's BackOffMilliseconds (capped at 30 s), then tries again", async () => {
    const clock = createFakeClock();
    const client = fakeClient();
    client.items.set('a', mail('A', 'n', 'a@x'));
    client.nextItemCall.push(new EwsResponseError('ErrorServerBusy', 'GetItem: ErrorServerBusy', { backOffMs: 120_000 }));
    const src = createDetailsSource({ client, clock });
    const got = src.get('a');
    await clock.runUntil(got);
    assert.equal(client.itemCalls.length, 2);
    assert.ok(clock.sleeps.includes(30_000), `slept ${clock.sleeps.join(', ')}`);
    assert.deepEqual(await got, { ok: true, details: mail('A', 'n', 'a@x') });
  });

  it('a network failure is tried twice more, then the outcome carries the error message', async () => {
    const clock = createFakeClock();
    const client = fakeClient();
    for (let i = 0; i < 3; i += 1) client.nextItemCall.push(new TransportError('GetItem: connection reset by the server'));
    const src = createDetailsSource({ client, clock });
    const got = src.get('a');
    await clock.runUntil(got);
    assert.equal(client.itemCalls.length, 3);
    assert.deepEqual(clock.sleeps, [1000, 3000]);
    assert.deepEqual(await got, { ok: false, error: 'GetItem: connection reset by the server' });
  });

  it('per-item ErrorServerBusy retries only those ids', async () => {
    const clock = createFakeClock();
    const client = fakeClient();
    client.items.set('a', mail('A', 'n', 'a@x'));
    client.items.set('b', mail('B', 'n', 'b@x'));
    client.nextItemCall.push((ids) =>
      ids.map((id) => (id === 'b' ? { ok: false, responseCode: 'ErrorServerBusy', message: 'busy', backOffMs: 500 } : { ok: true, itemId: id, details: mail('A', 'n', 'a@x') })),
    );
    const src = createDetailsSource({ client, clock });
    const got = Promise.all([src.get('a'), src.get('b')]);
    await clock.runUntil(got);
    assert.deepEqual(client.itemCalls, [['a', 'b'], ['b']]);
    // 500 ms asked, but never less than our own first delay.
    assert.deepEqual(clock.sleeps.filter((ms) => ms >= 500), [1000]);
    assert.deepEqual((await got).map((o) => o.ok && o.details.subject), ['A', 'B']);
  });

  it('ErrorServerBusy with BackOffMilliseconds 0 ("Suggested backoff time 0 ms"): waits 1 s, then 3 s, not at once', async () => {
    const clock = createFakeClock();
    const client = fakeClient();
    for (let i = 0; i < 3; i += 1) client.nextItemCall.push(new EwsResponseError('ErrorServerBusy', 'GetItem: ErrorServerBusy', { backOffMs: 0 }));
    const src = createDetailsSource({ client, clock });
    const got = src.get('a');
    await clock.runUntil(got);
    assert.equal(client.itemCalls.length, 3);
    assert.deepEqual(clock.sleeps.filter((ms) => ms > 300), [1000, 3000]);
    assert.deepEqual(await got, { ok: false, error: 'GetItem: ErrorServerBusy' });
  });

  it('a GetItem that ran out its answer deadline is not tried again: the event goes out with the reason', async () => {
    const clock = createFakeClock();
    const client = fakeClient();
    client.nextItemCall.push(new TransportError('GetItem: the server did not send its whole answer within 2 min', { timedOut: true }));
    const src = createDetailsSource({ client, clock });
    const got = src.get('a');
    await clock.runUntil(got);
    assert.equal(client.itemCalls.length, 1);
    assert.deepEqual(await got, { ok: false, error: 'GetItem: the server did not send its whole answer within 2 min' });
  });

  it('no retry for errors a retry cannot fix', () => {
    assert.equal(retryDelay(new ProtocolError('bad xml'), 0), undefined);
    assert.equal(retryDelay(new TransportError('HTTP 400', { status: 400 }), 0), undefined);
    assert.equal(retryDelay(new EwsResponseError('ErrorAccessDenied', 'no'), 0), undefined);
    assert.equal(retryDelay(new TransportError('HTTP 503', { status: 503 }), 1), 3000);
    assert.equal(retryDelay(new TransportError('HTTP 503', { status: 503 }), 2), undefined);
    // Retry-After is the server's hint, bounded to 30 s as BackOffMilliseconds is here.
    assert.equal(retryDelay(new TransportError('HTTP 503', { status: 503, backOffMs: 7000 }), 0), 7000);
    assert.equal(retryDelay(new TransportError('HTTP 429', { status: 429, backOffMs: 120_000 }), 0), 30_000);
    // A hint below our own delay is raised to it.
    assert.equal(retryDelay(new TransportError('HTTP 503', { status: 503, backOffMs: 0 }), 0), 1000);
    assert.equal(retryDelay(new EwsResponseError('ErrorServerBusy', 'busy', { backOffMs: 0 }), 1), 3000);
    assert.equal(retryDelay(new TransportError('GetItem: no whole answer', { timedOut: true }), 0), undefined);
  });

  it('close(): lookups in flight end with "stopped", later ones at once', async () => {
    const clock = createFakeClock();
    const client = fakeClient();
    client.items.set('a', mail('A', 'n', 'a@x'));
    client.hold = true;
    const src = createDetailsSource({ client, clock });
    const got = src.get('a');
    await clock.advance(300);
    assert.equal(client.itemCalls.length, 1);
    src.close();
    client.release();
    assert.deepEqual(await got, { ok: false, error: 'stopped before the details arrived' });
    assert.deepEqual(await src.get('b'), { ok: false, error: 'stopped before the details arrived' });
  });

  it('bounds what the server sent: first recipients only, long text cut', () => {
    const to = Array.from({ length: 40 }, (_, i) => ({ address: `r${i}@x` }));
    const d = boundDetails({ subject: 'x'.repeat(5000), to, from: { name: 'n'.repeat(3000), address: 'a@x' } });
    assert.equal(d.to?.length, MAX_RECIPIENTS);
    assert.deepEqual(d.to?.[0], { address: 'r0@x' });
    assert.equal(d.subject?.length, 1000);
    assert.ok(d.subject?.endsWith('x…'));
    assert.equal(d.from?.name?.length, 1000);
    assert.equal(d.from?.address, 'a@x');
    assert.equal(boundDetails({ changeKey: 'CQAAABYAAAAG' }).changeKey, 'CQAAABYAAAAG');
    assert.equal('changeKey' in boundDetails({ changeKey: 'C'.repeat(513) }), false, 'an oversized ChangeKey is not kept');
  });
});
