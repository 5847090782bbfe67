// --details lookups: batching, three calls at once, a busy server waited out, retries of a network failure, per-item
// errors, bounds, closing.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EwsResponseError, ProtocolError, TransportError } from '../../src/errors.js';
import { boundDetails, busyHint, createDetailsSource, hintedDelay, MAX_RECIPIENTS, retryDelay } from '../../src/enrich/details.js';
import { createFakeClock, FAKE_EPOCH } from '../support/fake-clock.js';
import { fakeClient, mail } from './helpers.js';

describe('details source', () => {
  it('fifty ids per GetItem at most, the rest in the next call; outcomes by id', async () => {
    const clock = createFakeClock();
    const client = fakeClient();
    for (let i = 0; i < 52; i += 1) client.items.set(`id${i}`, mail(`s${i}`, 'N', 'n@x'));
    const src = createDetailsSource({ client, clock });
    const got = Promise.all(Array.from({ length: 52 }, (_, i) => src.get(`id${i}`)));
    await clock.runUntil(got);
    assert.deepEqual(client.itemCalls.map((c) => c.length), [50, 2]);
    const out = await got;
    assert.deepEqual(out.map((o) => (o.ok ? o.details.subject : o.error)), Array.from({ length: 52 }, (_, i) => `s${i}`));
  });

  it('a burst: three GetItem calls at once (not one after the other), a fourth only when one of them is answered', async () => {
    const clock = createFakeClock();
    const client = fakeClient();
    for (let i = 0; i < 200; i += 1) client.items.set(`id${i}`, mail(`s${i}`, 'N', 'n@x'));
    client.hold = true;
    const src = createDetailsSource({ client, clock });
    const got = Promise.all(Array.from({ length: 200 }, (_, i) => src.get(`id${i}`)));
    await clock.flush();
    assert.equal(client.itemCalls.length, 3, 'three calls under way at once');
    client.hold = false;
    client.release();
    await clock.runUntil(got);
    assert.deepEqual(client.itemCalls.map((c) => c.length), [50, 50, 50, 50]);
    assert.ok((await got).every((o) => o.ok));
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

  it("ErrorServerBusy: waits the server's BackOffMilliseconds (5 min at most), then tries again", async () => {
    const clock = createFakeClock();
    const client = fakeClient();
    client.items.set('a', mail('A', 'n', 'a@x'));
    client.nextItemCall.push(new EwsResponseError('ErrorServerBusy', 'GetItem: ErrorServerBusy', { backOffMs: 120_000 }));
    client.nextItemCall.push(new EwsResponseError('ErrorServerBusy', 'GetItem: ErrorServerBusy', { backOffMs: 900_000 }));
    const src = createDetailsSource({ client, clock });
    const got = src.get('a');
    await clock.runUntil(got);
    assert.equal(client.itemCalls.length, 3);
    assert.deepEqual(clock.sleeps.filter((ms) => ms > 1000), [120_000, 300_000]);
    assert.deepEqual(await got, { ok: true, details: mail('A', 'n', 'a@x') });
  });

  it('a busy server is waited out however long it stays busy: no item goes without details for load', async () => {
    const clock = createFakeClock();
    const client = fakeClient();
    client.items.set('a', mail('A', 'n', 'a@x'));
    const warnings: string[] = [];
    const busy = [
      new EwsResponseError('ErrorServerBusy', 'GetItem: ErrorServerBusy', { backOffMs: 0 }),
      // Over the concurrency budget: the fault Exchange Online sends (MaxConcurrency, "Suggested backoff time 0 ms").
      new EwsResponseError('ErrorExceededConnectionCount', 'GetItem: ErrorExceededConnectionCount'),
      new TransportError('GetItem: HTTP 503 from the server', { status: 503 }),
      new TransportError('GetItem: HTTP 429 from the server', { status: 429 }),
      new EwsResponseError('ErrorServerBusy', 'GetItem: ErrorServerBusy', { backOffMs: 0 }),
      new EwsResponseError('ErrorServerBusy', 'GetItem: ErrorServerBusy', { backOffMs: 0 }),
    ];
    client.nextItemCall.push(...busy);
    const src = createDetailsSource({ client, clock, warn: (l) => warnings.push(l) });
    const got = src.get('a');
    await clock.runUntil(got);
    assert.equal(client.itemCalls.length, 7);
    // Never at once: our own waits grow while the hints say 0 ms.
    assert.deepEqual(clock.sleeps.filter((ms) => ms > 300), [1000, 3000, 10_000, 30_000, 60_000, 60_000]);
    assert.deepEqual(await got, { ok: true, details: mail('A', 'n', 'a@x') });
    // One warning for the spell, once the wait grew long.
    assert.deepEqual(warnings, ['GetItem for --details: GetItem: HTTP 503 from the server; asking again in 10 s (no event is printed without its details meanwhile)']);
  });

  it('while one call is told to back off, no other GetItem goes out before the back-off ends', async () => {
    const clock = createFakeClock();
    const client = fakeClient();
    for (const id of ['a', 'b']) client.items.set(id, mail(id, 'n', `${id}@x`));
    client.nextItemCall.push(new EwsResponseError('ErrorServerBusy', 'GetItem: ErrorServerBusy', { backOffMs: 5000 }));
    const src = createDetailsSource({ client, clock });
    const a = src.get('a');
    await clock.advance(300);
    assert.equal(client.itemCalls.length, 1);
    const b = src.get('b');
    await clock.advance(4000);
    assert.equal(client.itemCalls.length, 1, 'b waits behind the back-off too');
    await clock.runUntil(Promise.all([a, b]));
    assert.ok(clock.now() >= FAKE_EPOCH + 5300, 'the next calls went out after the back-off');
    assert.deepEqual((await Promise.all([a, b])).map((o) => o.ok && o.details.subject), ['a', 'b']);
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

  it('after a back-off one call asks first; the others wait for its answer instead of each meeting the throttle', async () => {
    const clock = createFakeClock();
    const client = fakeClient();
    for (const id of ['a', 'b', 'c']) client.items.set(id, mail(id, 'n', `${id}@x`));
    for (let i = 0; i < 3; i += 1) client.nextItemCall.push(new EwsResponseError('ErrorServerBusy', 'GetItem: ErrorServerBusy', { backOffMs: 0 }));
    const src = createDetailsSource({ client, clock, maxBatch: 1 });
    const got = Promise.all(['a', 'b', 'c'].map((id) => src.get(id)));
    await clock.advance(300);
    assert.equal(client.itemCalls.length, 3, 'three calls at once, all told the server is busy');
    client.hold = true;
    await clock.advance(1000);
    assert.equal(client.itemCalls.length, 4, 'one call asks after the wait');
    client.hold = false;
    client.release();
    await clock.runUntil(got);
    assert.equal(client.itemCalls.length, 6);
    assert.deepEqual((await got).map((o) => o.ok && o.details.subject), ['a', 'b', 'c']);
  });

  it('per-item ErrorServerBusy retries only those ids, as often as the server stays busy', async () => {
    const clock = createFakeClock();
    const client = fakeClient();
    client.items.set('a', mail('A', 'n', 'a@x'));
    client.items.set('b', mail('B', 'n', 'b@x'));
    const busyFor = (busyId: string) => (ids: readonly string[]) =>
      ids.map((id) => (id === busyId ? { ok: false as const, responseCode: 'ErrorServerBusy', message: 'busy', backOffMs: 500 } : { ok: true as const, itemId: id, details: mail('A', 'n', 'a@x') }));
    for (let i = 0; i < 4; i += 1) client.nextItemCall.push(busyFor('b'));
    const src = createDetailsSource({ client, clock });
    const got = Promise.all([src.get('a'), src.get('b')]);
    await clock.runUntil(got);
    assert.deepEqual(client.itemCalls, [['a', 'b'], ['b'], ['b'], ['b'], ['b']]);
    // 500 ms asked, but never less than our own delays.
    assert.deepEqual(clock.sleeps.filter((ms) => ms >= 500), [1000, 3000, 10_000, 30_000]);
    assert.deepEqual((await got).map((o) => o.ok && o.details.subject), ['A', 'B']);
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

  it('what is load and what is not: busy answers are waited out; others are tried twice more, or not at all', () => {
    assert.equal(busyHint(new EwsResponseError('ErrorServerBusy', 'busy', { backOffMs: 7000 })), 7000);
    assert.equal(busyHint(new EwsResponseError('ErrorServerBusy', 'busy')), null);
    assert.equal(busyHint(new EwsResponseError('ErrorExceededConnectionCount', 'too many')), null);
    assert.equal(busyHint(new TransportError('HTTP 503', { status: 503, backOffMs: 2000 })), 2000);
    assert.equal(busyHint(new TransportError('HTTP 429', { status: 429 })), null);
    assert.equal(busyHint(new EwsResponseError('ErrorAccessDenied', 'no')), undefined);
    assert.equal(busyHint(new TransportError('HTTP 500', { status: 500 })), undefined);
    assert.equal(retryDelay(new ProtocolError('bad xml'), 0), undefined);
    assert.equal(retryDelay(new TransportError('HTTP 400', { status: 400 }), 0), undefined);
    assert.equal(retryDelay(new EwsResponseError('ErrorAccessDenied', 'no'), 0), undefined);
    assert.equal(retryDelay(new TransportError('HTTP 500', { status: 500 }), 1), 3000);
    assert.equal(retryDelay(new TransportError('HTTP 500', { status: 500 }), 2), undefined);
    assert.equal(retryDelay(new TransportError('GetItem: no whole answer', { timedOut: true }), 0), undefined);
    // The server's hint is honoured up to 5 minutes, and never below our own wait.
    assert.equal(hintedDelay(0, 0), 1000);
    assert.equal(hintedDelay(undefined, 3), 30_000);
    assert.equal(hintedDelay(297_749, 0), 297_749);
    assert.equal(hintedDelay(3_600_000, 0), 300_000);
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
