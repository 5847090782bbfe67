// The simulator's ordinary HTTP behaviour: authentication challenges, affinity cookies and their replay,
// request recording, Exchange-shaped responses and faults, schema checks on requests, and scripted answers.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { UsageError } from '../../src/errors.js';
import { NS, basicAuth, elementsOf, gseBody, post, rawPost, soap, splitEnvelopes, subscribe, subscribeBody, textOf, unsubscribeBody } from './helpers.js';

const responseClass = (xml: string, local: string): string | undefined => elementsOf(xml).find((e) => e.local === local)?.attrs.ResponseClass;

describe('simulator HTTP', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ tokens: ['token-123'], mailbox: 'bob@contoso.com', password: 'S3cret!' });
  });
  after(() => sim.close());

  test('url, mailbox and credentials are exposed', () => {
    assert.match(sim.url, /^http:\/\/127\.0\.0\.1:\d+\/EWS\/Exchange\.asmx$/);
    assert.equal(sim.url, `http://127.0.0.1:${sim.port}/EWS/Exchange.asmx`);
    assert.deepEqual(sim.credentials, { user: 'bob@contoso.com', password: 'S3cret!' });
    assert.equal(sim.mailboxAddress, 'bob@contoso.com');
  });

  test('missing or wrong credentials: 401 with Negotiate, NTLM and Basic offers and an empty body; still recorded', async () => {
    for (const authorization of [undefined, `Basic ${Buffer.from('bob@contoso.com:wrong').toString('base64')}`]) {
      const res = await fetch(sim.url, { method: 'POST', headers: authorization ? { authorization } : {}, body: subscribeBody() });
      assert.equal(res.status, 401);
      const offers = res.headers.get('www-authenticate')!;
      for (const scheme of ['Negotiate', 'NTLM', 'Basic realm="127.0.0.1"']) assert.ok(offers.includes(scheme), offers);
      assert.equal(res.headers.get('content-length'), '0');
      assert.equal(await res.text(), '');
    }
    const last = sim.requests.at(-1)!;
    assert.equal(last.operation, 'Subscribe');
    assert.ok(last.headers.authorization?.startsWith('Basic '));
    assert.equal(sim.subscriptions().length, 0, 'nothing was subscribed');
  });

  test('user names are case-insensitive, passwords are not; bearer tokens come from the configured set', async () => {
    const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    assert.equal((await post(sim, subscribeBody(), { authorization: basic('BOB@contoso.com', 'S3cret!') })).status, 200);
    assert.equal((await post(sim, subscribeBody(), { authorization: basic('bob@contoso.com', 's3cret!') })).status, 401);
    assert.equal((await post(sim, subscribeBody(), { authorization: 'Bearer token-123' })).status, 200);
    const bad = await post(sim, subscribeBody(), { authorization: 'Bearer nope' });
    assert.equal(bad.status, 401);
    assert.match(bad.headers.get('www-authenticate')!, /^Bearer client_id="00000002-0000-0ff1-ce00-000000000000".*error="invalid_token"/);
  });

  test('Subscribe: Exchange-shaped response, affinity cookie set; replay and headers are recorded', async () => {
    const answer = await post(sim, subscribeBody(['inbox', 'sentitems']), { 'X-AnchorMailbox': 'bob@contoso.com', 'X-PreferServerAffinity': 'true' });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get('content-type'), 'text/xml; charset=utf-8');
    assert.ok(answer.body.startsWith('<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><h:ServerVersionInfo MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" MinorBuildNumber="6" Version="V2017_07_11"'));
    assert.equal(responseClass(answer.body, 'SubscribeResponseMessage'), 'Success');
    const id = textOf(answer.body, 'SubscriptionId')!;
    const decoded = Buffer.from(id, 'base64');
    assert.equal(decoded.subarray(2, 2 + decoded[0]!).toString('ascii'), 'EXSIM01.contoso.local', 'length byte + backend host');
    const cookies = answer.headers.getSetCookie();
    const override = cookies.find((c) => c.startsWith('X-BackEndOverrideCookie='))!;
    assert.match(override, /^X-BackEndOverrideCookie=EXSIM01\.contoso\.local~\d+; path=\/; HttpOnly$/);
    const recorded = sim.requests.at(-1)!;
    assert.equal(recorded.headers['x-anchormailbox'], 'bob@contoso.com');
    assert.equal(recorded.headers['x-preferserveraffinity'], 'true');
    assert.equal(recorded.cookieReplayed, false);
    assert.ok(recorded.body.includes('<t:DistinguishedFolderId Id="sentitems"/>'));
    const cookie = cookies.map((c) => c.split(';')[0]).join('; ');
    const next = sim.nextRequest('Unsubscribe');
    await post(sim, unsubscribeBody(id), { cookie });
    const replayed = await next;
    assert.equal(replayed.cookieReplayed, true);
    assert.equal(replayed.headers.cookie, cookie);
    assert.equal(replayed.path, '/EWS/Exchange.asmx');
    assert.equal(replayed.method, 'POST');
  });

  test('gzip for ordinary responses when accepted, never for the stream', async () => {
    const answer = await post(sim, subscribeBody(), { 'accept-encoding': 'gzip' });
    assert.equal(answer.headers.get('content-encoding'), 'gzip');
    assert.equal(responseClass(answer.body, 'SubscribeResponseMessage'), 'Success');
    const plain = await post(sim, subscribeBody(), { 'accept-encoding': 'identity' });
    assert.equal(plain.headers.get('content-encoding'), null);
    const id = textOf(plain.body, 'SubscriptionId')!;
    sim.script('GetStreamingEvents', [{ op: 'heartbeat' }, { op: 'end' }]);
    const stream = rawPost(sim, gseBody([id]), { 'Accept-Encoding': 'gzip' });
    assert.doesNotMatch(await stream.head, /content-encoding/i);
    await stream.done;
    assert.equal(splitEnvelopes(stream.text()).length, 1);
  });

  test('Subscribe errors: unknown FolderId, absent distinguished folder, another mailbox, all folders', async () => {
    const unknownId = Buffer.alloc(90, 3).toString('base64');
    for (const [body, code] of [
      [subscribeBody([unknownId]), 'ErrorFolderNotFound'],
      [subscribeBody(['voicemail']), 'ErrorFolderNotFound'],
      [soap('<m:Subscribe><m:StreamingSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="inbox"><t:Mailbox><t:EmailAddress>eve@contoso.com</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId></t:FolderIds><t:EventTypes><t:EventType>NewMailEvent</t:EventType></t:EventTypes></m:StreamingSubscriptionRequest></m:Subscribe>'), 'ErrorNonExistentMailbox'],
      [soap('<m:Subscribe><m:PullSubscriptionRequest/></m:Subscribe>'), 'ErrorInvalidSubscriptionRequest'],
    ] as const) {
      const answer = await post(sim, body);
      assert.equal(answer.status, 200);
      assert.equal(responseClass(answer.body, 'SubscribeResponseMessage'), 'Error');
      assert.equal(textOf(answer.body, 'ResponseCode'), code);
      assert.ok((textOf(answer.body, 'MessageText') ?? '').length > 0);
    }
    const all = await post(sim, subscribeBody('all', ['NewMailEvent']));
    assert.equal(responseClass(all.body, 'SubscribeResponseMessage'), 'Success');
    const info = sim.subscriptions().find((s) => s.id === textOf(all.body, 'SubscriptionId'))!;
    assert.deepEqual([info.folders, info.eventTypes], ['all', ['NewMailEvent']]);
    const inboxById = await post(sim, subscribeBody([sim.folder('inbox')!.id]));
    assert.equal(responseClass(inboxById.body, 'SubscribeResponseMessage'), 'Success');
  });

  test('schema problems become HTTP 500 ErrorSchemaValidation faults in the e: errors namespace', async () => {
    const cases = [
      '<not xml',
      subscribeBody(['invalidparentid']),
      subscribeBody(['inbox'], ['NewMail']),
      soap('<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>AAAA</t:SubscriptionId></m:SubscriptionIds><m:ConnectionTimeout>31</m:ConnectionTimeout></m:GetStreamingEvents>'),
      soap('<m:GetStreamingEvents><m:SubscriptionIds><m:SubscriptionId>AAAA</m:SubscriptionId></m:SubscriptionIds><m:ConnectionTimeout>30</m:ConnectionTimeout></m:GetStreamingEvents>'),
      subscribeBody().replace('http://schemas.xmlsoap.org/soap/envelope/', 'https://schemas.xmlsoap.org/soap/envelope/'),
      '<!DOCTYPE x [<!ENTITY a "b">]><x/>',
    ];
    for (const body of cases) {
      const answer = await post(sim, body);
      assert.equal(answer.status, 500, body);
      assert.ok(answer.body.startsWith('<?xml version="1.0" encoding="utf-8"?><s:Envelope'));
      const els = elementsOf(answer.body);
      assert.equal(els.find((e) => e.local === 'faultcode')!.text, 'a:ErrorSchemaValidation');
      const code = els.find((e) => e.local === 'ResponseCode')!;
      assert.deepEqual([code.uri, code.text], [NS.e, 'ErrorSchemaValidation']);
      assert.ok(els.some((e) => e.local === 'Violation' && e.uri === NS.t && e.text.length > 0), body);
    }
  });

  test('RequestServerVersion must be present and new enough for streaming; impersonation must name the mailbox', async () => {
    for (const header of ['', '<t:RequestServerVersion Version="Exchange2010"/>']) {
      const answer = await post(sim, soap(subscribeBody().match(/<m:Subscribe>.*<\/m:Subscribe>/)![0], header));
      assert.equal(answer.status, 500);
      assert.equal(textOf(answer.body, 'ResponseCode'), 'ErrorInvalidServerVersion');
    }
    const impersonate = (who: string) =>
      `<t:RequestServerVersion Version="Exchange2016"/><t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>${who}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>`;
    const inner = subscribeBody().match(/<m:Subscribe>.*<\/m:Subscribe>/)![0];
    assert.equal(textOf((await post(sim, soap(inner, impersonate('eve@contoso.com')))).body, 'ResponseCode'), 'ErrorNonExistentMailbox');
    assert.equal(textOf((await post(sim, soap(inner, impersonate('Bob@Contoso.com')))).body, 'ResponseCode'), 'NoError');
  });

  test('off the EWS path: the root redirects to OWA, OWA to its sign-in page (an HTML page), the rest is 404', async () => {
    const origin = new URL(sim.url).origin;
    const at = (path: string): Promise<Response> => fetch(`${origin}${path}`, { method: 'POST', body: 'x', redirect: 'manual' });
    const root = await at('/');
    assert.deepEqual([root.status, root.headers.get('location')], [302, '/owa/']);
    const owa = await at('/owa/');
    assert.equal(owa.status, 302);
    assert.match(owa.headers.get('location') ?? '', /^\/owa\/auth\/logon\.aspx\?url=http%3A%2F%2F127\.0\.0\.1%3A\d+%2Fowa%2F&reason=0$/);
    const page = await at('/owa/auth/logon.aspx?url=x&reason=0');
    assert.deepEqual([page.status, page.headers.get('content-type')], [200, 'text/html']);
    assert.match(await page.text(), /<title>Outlook<\/title>/);
  });

  test('unknown path 404; unimplemented operation gets an ErrorInvalidRequest fault', async () => {
    const res = await fetch(sim.url.replace('Exchange.asmx', 'Nope.asmx'), { method: 'POST', body: 'x' });
    assert.equal(res.status, 404);
    const answer = await post(sim, soap('<m:FindItem/>'));
    assert.equal(answer.status, 500);
    assert.equal(textOf(answer.body, 'ResponseCode'), 'ErrorInvalidRequest');
    assert.equal(sim.requests.at(-1)!.operation, 'FindItem');
  });

  test('requireAffinity: without the issued cookie the subscription is not found', async () => {
    const strict = await startSimulator({ requireAffinity: true });
    try {
      const { id, cookie } = await subscribe(strict);
      const lost = rawPost(strict, gseBody([id]));
      await lost.done;
      assert.equal(textOf(lost.text(), 'ResponseCode'), 'ErrorSubscriptionNotFound');
      strict.script('GetStreamingEvents', [{ op: 'heartbeat' }, { op: 'end' }]);
      const kept = rawPost(strict, gseBody([id]), { Cookie: cookie });
      await kept.done;
      assert.equal(textOf(kept.text(), 'ConnectionStatus'), 'OK');
      assert.deepEqual(strict.requests.map((r) => r.cookieReplayed), [false, false, true]);
    } finally {
      await strict.close();
    }
  });
});

describe('simulator scripted answers', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator();
  });
  after(() => sim.close());

  test('HTTP statuses, each entry consumed by one request, then the default again', async () => {
    sim.script('Subscribe', { status: 503 }, { status: 500, body: 'boom' }, { status: 403 }, { status: 401 });
    assert.equal(sim.pendingScripts('Subscribe'), 4);
    const a = await post(sim, subscribeBody());
    assert.equal(a.status, 503);
    const b = await post(sim, subscribeBody());
    assert.deepEqual([b.status, b.body], [500, 'boom']);
    assert.equal((await post(sim, subscribeBody())).status, 403);
    const d = await post(sim, subscribeBody());
    assert.equal(d.status, 401);
    assert.ok(d.headers.get('www-authenticate')!.includes('NTLM'));
    assert.equal(sim.pendingScripts('Subscribe'), 0);
    assert.equal(responseClass((await post(sim, subscribeBody())).body, 'SubscribeResponseMessage'), 'Success');
  });

  test('an unauthenticated request does not consume the script', async () => {
    sim.script('Subscribe', { status: 503 });
    const res = await fetch(sim.url, { method: 'POST', body: subscribeBody() });
    assert.equal(res.status, 401);
    assert.equal(sim.pendingScripts('Subscribe'), 1);
    assert.equal((await post(sim, subscribeBody())).status, 503);
  });

  test('ErrorServerBusy as an HTTP 500 SOAP fault with BackOffMilliseconds (also on GetStreamingEvents)', async () => {
    const { id } = await subscribe(sim);
    sim.script('GetStreamingEvents', { fault: 'ErrorServerBusy', backOffMs: 1234 });
    const answer = await post(sim, gseBody([id]));
    assert.equal(answer.status, 500);
    assert.equal(answer.headers.get('content-type'), 'text/xml; charset=utf-8');
    const els = elementsOf(answer.body);
    assert.equal(els.find((e) => e.local === 'faultcode')!.text, 'a:ErrorServerBusy');
    assert.equal(els.find((e) => e.local === 'faultstring')!.text, 'The server cannot service this request right now. Try again later.');
    const code = els.find((e) => e.local === 'ResponseCode')!;
    assert.deepEqual([code.uri, code.text], [NS.e, 'ErrorServerBusy']);
    const value = els.find((e) => e.local === 'Value')!;
    assert.deepEqual([value.uri, value.path.at(-2), value.attrs.Name, value.text], [NS.t, 'MessageXml', 'BackOffMilliseconds', '1234']);
  });

  test('{ echo } answers 500 with the request headers echoed: an HTML page listing them by name, or a SOAP fault', async () => {
    sim.script('Subscribe', { echo: 'html' }, { echo: 'fault', backOffMs: 50 });
    const page = await post(sim, subscribeBody(), { cookie: 'exchangecookie=abc123' });
    assert.equal(page.status, 500);
    assert.equal(page.headers.get('content-type'), 'text/html');
    const lines = page.body.split('\n');
    assert.match(lines[0]!, /^<html><body><h1>500 Internal Server Error<\/h1><p>Request headers:<\/p><pre>$/);
    const echoed = lines.slice(1, -1);
    assert.ok(echoed.includes(`authorization: ${basicAuth(sim)}`), page.body);
    assert.ok(echoed.includes('cookie: exchangecookie=abc123'));
    assert.deepEqual(echoed.map((l) => l.split(':')[0]!.toLowerCase()), echoed.map((l) => l.split(':')[0]!.toLowerCase()).sort(), 'listed by name');
    const fault = await post(sim, subscribeBody());
    assert.equal(fault.status, 500);
    const els = elementsOf(fault.body);
    assert.equal(els.find((e) => e.local === 'faultcode')!.text, 'a:ErrorInternalServerError');
    // One header a line (XML reads the CRLF as LF).
    assert.ok(els.find((e) => e.local === 'faultstring')!.text.includes(`\nauthorization: ${basicAuth(sim)}\n`));
    assert.equal(els.find((e) => e.local === 'Value')!.text, '50');
  });

  test('a Subscribe error code (HTTP 200) and ErrorServerBusy inside the response message', async () => {
    sim.script('Subscribe', { error: 'ErrorExceededSubscriptionCount' }, { error: 'ErrorServerBusy', backOffMs: 5000 });
    const first = await post(sim, subscribeBody());
    assert.equal(first.status, 200);
    assert.equal(responseClass(first.body, 'SubscribeResponseMessage'), 'Error');
    assert.equal(textOf(first.body, 'ResponseCode'), 'ErrorExceededSubscriptionCount');
    const second = await post(sim, subscribeBody());
    const value = elementsOf(second.body).find((e) => e.local === 'Value')!;
    assert.deepEqual([value.path.at(-2), value.attrs.Name, value.text], ['MessageXml', 'BackOffMilliseconds', '5000']);
  });

  test('{ error } on GetStreamingEvents is an in-stream error followed by Closed', async () => {
    const { id } = await subscribe(sim);
    sim.script('GetStreamingEvents', { error: 'ErrorExceededConnectionCount' });
    const stream = rawPost(sim, gseBody([id]));
    assert.deepEqual(await stream.done, { ended: true });
    assert.equal(textOf(stream.text(), 'ResponseCode'), 'ErrorExceededConnectionCount');
    assert.equal(textOf(stream.text(), 'ConnectionStatus'), 'Closed');
  });

  test('hang: no answer until the client gives up; delayMs delays the default answer', async () => {
    const { id } = await subscribe(sim);
    sim.script('Unsubscribe', { hang: true });
    const controller = new AbortController();
    const pending = fetch(sim.url, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${sim.credentials.user}:${sim.credentials.password}`).toString('base64')}` }, body: unsubscribeBody(id), signal: controller.signal });
    await sim.nextRequest('Unsubscribe');
    controller.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    assert.equal(sim.subscriptions().some((s) => s.id === id), true, 'a hung Unsubscribe did nothing');
    sim.script('Unsubscribe', { delayMs: 40 });
    const started = Date.now();
    const answer = await post(sim, unsubscribeBody(id));
    assert.ok(Date.now() - started >= 40);
    assert.equal(textOf(answer.body, 'ResponseCode'), 'NoError');
  });

  test('close() ends a hung request', async () => {
    const local = await startSimulator();
    local.script('Subscribe', { hang: true });
    const pending = post(local, subscribeBody());
    await local.nextRequest('Subscribe');
    await local.close();
    await assert.rejects(pending);
  });

  test('stream steps can only be scripted for GetStreamingEvents', () => {
    assert.throws(() => (sim.script as (op: string, ...e: unknown[]) => void)('Subscribe', [{ op: 'heartbeat' }]), UsageError);
  });

  test('waitFor rejects after its timeout when the condition never holds', async () => {
    await assert.rejects(sim.waitFor(() => false, 20), /not met within 20 ms/);
  });
});
