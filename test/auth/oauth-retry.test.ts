// The transport's answer to a 401 with a provider that can refresh (src/transport/ews-client.ts): one refresh,
// one retry of the same request, then AuthError with the provider's advice; no refresh without such a provider.
// Also --auth oauth in the configuration (src/cli/config.ts). Pure: a scripted EwsHttp, no sockets.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXCHANGE_ONLINE_EWS_URL, resolveConnection as resolveConnectionFrom, type ConnectionSettings, type RawOptions } from '../../src/cli/config.js';
import { AuthError, UsageError } from '../../src/errors.js';
import type { EwsHttp, HttpResponse, StreamResponse } from '../../src/transport/http.js';
import { checkStatus, createEwsClient, diagnosticsOf } from '../../src/transport/ews-client.js';
import { createLookup, type Env } from '../../src/cli/precedence.js';

/** The connection from flags, the environment and .env, as a command resolves it (through precedence.ts). */
const resolveConnection = (raw: RawOptions, env: Env, dotenv: Env = {}): ConnectionSettings => resolveConnectionFrom(raw, createLookup({ env, dotenv })) as ConnectionSettings;

const SUBSCRIBED = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:SubscribeResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages><m:SubscribeResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:SubscriptionId>SUB1</m:SubscriptionId></m:SubscribeResponseMessage></m:ResponseMessages></m:SubscribeResponse></s:Body></s:Envelope>`;

function scriptedHttp(posts: number[], streams: number[] = []): EwsHttp & { bodies: string[]; drained: number } {
  const bodies: string[] = [];
  const http = {
    bodies,
    drained: 0,
    async post(body: string): Promise<HttpResponse> {
      bodies.push(body);
      const status = posts.shift() ?? 500;
      return { status, headers: status === 401 ? { 'x-ms-diagnostics': '2000003;reason="The token has expired.";error_category="invalid_token"' } : {}, body: status === 200 ? SUBSCRIBED : '' };
    },
    async openStream(body: string): Promise<StreamResponse> {
      bodies.push(body);
      const status = streams.shift() ?? 500;
      return { status, headers: {}, body: (async function* () {})(), text: async () => ((http.drained += 1), '') };
    },
    scheme: () => 'oauth',
    async close() {},
  };
  return http;
}

function client(http: EwsHttp, auth?: { refresh?: () => Promise<boolean>; advice?: (s: number) => string }) {
  return createEwsClient({ http, ctx: { serverVersion: 'Exchange2013_SP1' }, folders: { kind: 'all' }, events: ['NewMail'], user: 'alice@contoso.com', ...(auth ? { auth } : {}) });
}

describe('401 → one refresh, one retry', () => {
  it('Subscribe: a 401 refreshes once and the same request succeeds', async () => {
    const http = scriptedHttp([401, 200]);
    let refreshes = 0;
    const id = await client(http, { refresh: async () => ((refreshes += 1), true) }).subscribe();
    assert.equal(id, 'SUB1');
    assert.equal(refreshes, 1);
    assert.equal(http.bodies.length, 2);
    assert.equal(http.bodies[0], http.bodies[1]);
  });

  it('a second 401 is an AuthError with the provider advice and the server reason; no second refresh', async () => {
    const http = scriptedHttp([401, 401, 200]);
    let refreshes = 0;
    const c = client(http, { refresh: async () => ((refreshes += 1), true), advice: (s) => `advice for ${s}` });
    await assert.rejects(c.subscribe(), (e: unknown) => {
      assert.ok(e instanceof AuthError);
      assert.equal(e.status, 401);
      assert.match(e.message, /HTTP 401\) \(server: The token has expired\.\) even after a new token: advice for 401\./);
      return true;
    });
    assert.equal(refreshes, 1);
    assert.equal(http.bodies.length, 2);
  });

  it('without a provider that refreshes, the first 401 is final (Basic keeps its message)', async () => {
    const http = scriptedHttp([401, 200]);
    await assert.rejects(client(http).subscribe(), (e: unknown) => e instanceof AuthError && /Check EWS_USER and the password/.test(e.message));
    assert.equal(http.bodies.length, 1);
  });

  it('refresh() refusing (revoked) is the error that ends the run', async () => {
    const http = scriptedHttp([401, 200]);
    const revoked = new AuthError('sign in again');
    await assert.rejects(client(http, { refresh: async () => Promise.reject(revoked) }).subscribe(), (e: unknown) => e === revoked);
  });

  it('GetStreamingEvents: the refusal is read to its end, then the same stream request is sent again', async () => {
    const http = scriptedHttp([], [401, 200]);
    let refreshes = 0;
    await client(http, { refresh: async () => ((refreshes += 1), true) }).openStream('SUB1', 1, new AbortController().signal);
    assert.equal(refreshes, 1);
    assert.equal(http.drained, 1);
    assert.equal(http.bodies.length, 2);
    assert.equal(http.bodies[0], http.bodies[1]);
  });

  it('Unsubscribe gets the same treatment', async () => {
    const http = scriptedHttp([401, 401]);
    let refreshes = 0;
    await assert.rejects(client(http, { refresh: async () => ((refreshes += 1), true) }).unsubscribe('SUB1'), AuthError);
    assert.equal(refreshes, 1);
  });

  it('403 with OAuth advice; diagnostics are sanitised and bounded', () => {
    assert.throws(() => checkStatus(403, '', 'Subscribe', 'app', { advice: () => 'allow-list the app' }), /HTTP 403\): allow-list the app\./);
    assert.equal(diagnosticsOf({ 'x-ms-diagnostics': `2000008;reason="bad\u001b[31m ${'x'.repeat(300)}";error_category="x"` })?.length, 160);
    assert.equal(diagnosticsOf({ 'x-ms-diagnostics': '2000008;reason="EWS is disabled.";error_category="x"' }), 'EWS is disabled.');
    assert.equal(diagnosticsOf({}), undefined);
  });
});

describe('--auth oauth configuration', () => {
  const env = { EWS_TENANT_ID: 'contoso.onmicrosoft.com', EWS_CLIENT_ID: '11111111-2222-3333-4444-555555555555' };

  it('a person: Exchange Online by default, no impersonation, the mailbox from --user', () => {
    const c = resolveConnection({ auth: 'oauth', user: 'alice@contoso.com' }, env, {});
    assert.equal(c.auth, 'oauth');
    assert.equal(c.url.href, EXCHANGE_ONLINE_EWS_URL);
    assert.equal(c.sources.url, 'default');
    assert.deepEqual({ ...c.oauth }, { tenant: 'contoso.onmicrosoft.com', clientId: env.EWS_CLIENT_ID, app: false });
    assert.equal(c.mailbox, 'alice@contoso.com');
    assert.equal(c.impersonate, undefined);
  });

  it('an app: a secret in the environment or a certificate; --mailbox required and impersonated', () => {
    const c = resolveConnection({ auth: 'oauth', mailbox: 'bob@contoso.com' }, { ...env, EWS_CLIENT_SECRET: 's3cret' }, {});
    assert.equal(c.oauth?.app, true);
    assert.equal(c.impersonate, 'bob@contoso.com');
    assert.equal(JSON.stringify(c).includes('s3cret'), false, 'the secret is not part of the settings');
    const d = resolveConnection({ auth: 'oauth', mailbox: 'bob@contoso.com', clientCert: '/etc/app.pem', authority: 'https://login.microsoftonline.us/t' }, env, {});
    assert.equal(d.oauth?.clientCert, '/etc/app.pem');
    assert.equal(d.oauth?.authority, 'https://login.microsoftonline.us/t');
    assert.throws(() => resolveConnection({ auth: 'oauth' }, { ...env, EWS_CLIENT_SECRET: 's' }, {}), /pass --mailbox/);
    assert.throws(() => resolveConnection({ auth: 'oauth', mailbox: 'b@c.com', clientCert: '/x.pem' }, { ...env, EWS_CLIENT_SECRET: 's' }, {}), /cannot be used together/);
  });

  it('flags beat the environment; .env counts; bad values are usage errors', () => {
    const c = resolveConnection({ auth: 'oauth', user: 'a@b.com', tenant: 'fabrikam.com' }, env, { EWS_CLIENT_SECRET: 'x', EWS_MAILBOX: 'm@b.com' });
    assert.equal(c.oauth?.tenant, 'fabrikam.com');
    assert.equal(c.sources.tenant, 'flag');
    assert.equal(c.oauth?.app, true);
    assert.throws(() => resolveConnection({ auth: 'oauth', user: 'a@b.com' }, { EWS_TENANT_ID: 't' }, {}), (e: unknown) => e instanceof UsageError && /--client-id/.test(e.message));
    assert.throws(() => resolveConnection({ auth: 'oauth', user: 'a@b.com', authority: 'http://x/t' }, env, {}), /--authority must be an https URL/);
    assert.throws(() => resolveConnection({ auth: 'oauth', user: 'a@b.com', tenant: 'a b' }, env, {}), /--tenant must be/);
  });
});
