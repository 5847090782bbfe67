// End to end with OAuth: the built CLI signs in at the fake identity platform (https on 127.0.0.1, trusted through
// NODE_EXTRA_CA_CERTS, so MSAL uses its own network path) and streams from the simulator, which accepts only tokens
// that platform issued and still considers valid. Covers the app flow (secret, certificate), a token that expires
// mid-stream (one refresh, same subscription, no lost events), and refusals that exit 4 saying what to do.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createMemoryStore } from '../../src/auth/oauth-cache.js';
import { loginWithDeviceCode } from '../../src/auth/oauth-login.js';
import { createOAuthAuth } from '../../src/auth/oauth.js';
import { createNdjsonSink } from '../../src/output/ndjson.js';
import { createPrintedPath } from '../../src/printed/path.js';
import type { Simulator } from '../../src/simulator/types.js';
import { createLogger } from '../../src/term/logger.js';
import { createEwsClient } from '../../src/transport/ews-client.js';
import { createEwsHttp } from '../../src/transport/http.js';
import { systemClock } from '../../src/base/clock.js';
import { runWatch } from '../../src/watch/engine.js';
import { startCli, runCli } from '../support/cli.js';
import { startFakeIdentity, trustingNetworkClient, type FakeIdentity } from '../support/fake-identity.js';
import { parseLines, requestsOf, subscriptionIdsIn, withSim } from './helpers.js';

async function withIdp<T>(fn: (idp: FakeIdentity) => Promise<T>): Promise<T> {
  const idp = await startFakeIdentity();
  try {
    return await fn(idp);
  } finally {
    await idp.close();
  }
}

function appEnv(idp: FakeIdentity, sim: Simulator, extra: Record<string, string> = {}): Record<string, string> {
  return {
    EWS_URL: sim.url,
    EWS_AUTH: 'oauth',
    EWS_TENANT_ID: idp.tenant,
    EWS_CLIENT_ID: idp.clientId,
    EWS_CLIENT_SECRET: idp.clientSecret,
    EWS_MAILBOX: sim.mailboxAddress,
    EWS_AUTHORITY: idp.authority,
    NODE_EXTRA_CA_CERTS: idp.caFile,
    ...extra,
  };
}

const bearerOf = (sim: Simulator, i: number): string => (sim.requests[i]?.headers.authorization ?? '').replace(/^Bearer /, '');
const grants = (idp: FakeIdentity, kind: string): number => idp.requests.filter((r) => r.kind === kind && r.status === 200).length;

describe('OAuth, end to end', { concurrency: 2 }, () => {
  it('an app with a client secret streams events, impersonating the mailbox with X-AnchorMailbox', async () => {
    await withIdp((idp) =>
      withSim({ acceptToken: (t) => idp.isValid(t) }, async (sim) => {
        sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
        const r = await runCli(['--json', '--max-events', '3'], { env: appEnv(idp, sim) });
        assert.equal(r.stderr, '');
        assert.equal(r.code, 0);
        assert.deepEqual(parseLines(r.stdout).map((l) => l.event), ['Created', 'NewMail', 'Modified']);
        assert.deepEqual(sim.requests.map((q) => q.operation), ['Subscribe', 'GetFolder', 'SyncFolderItems', 'GetStreamingEvents', 'Unsubscribe']);
        for (let i = 0; i < sim.requests.length; i += 1) {
          const q = sim.requests[i]!;
          assert.ok(idp.isValid(bearerOf(sim, i)), 'a token the identity platform issued');
          assert.equal(q.headers['x-anchormailbox'], sim.mailboxAddress);
          assert.match(q.body, new RegExp(`<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>${sim.mailboxAddress}</t:PrimarySmtpAddress>`));
        }
        // One token for the whole run.
        assert.equal(grants(idp, 'client_credentials'), 1);
      }),
    );
  });

  it('an app with a certificate (--client-cert) streams events', async () => {
    await withIdp((idp) =>
      withSim({ acceptToken: (t) => idp.isValid(t) }, async (sim) => {
        sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
        const env = appEnv(idp, sim);
        delete env.EWS_CLIENT_SECRET;
        const r = await runCli(['--json', '--max-events', '2', '--client-cert', idp.clientCertFile], { env });
        assert.equal(r.stderr, '');
        assert.equal(r.code, 0);
        assert.deepEqual(parseLines(r.stdout).map((l) => l.event), ['Created', 'NewMail']);
        assert.equal(grants(idp, 'client_credentials'), 1);
      }),
    );
  });

  it('a token that expires mid-stream is refreshed once; same subscription, no event lost', async () => {
    await withIdp((idp) =>
      withSim({ acceptToken: (t) => idp.isValid(t), minuteMs: 250 }, async (sim) => {
        const cli = startCli(['--json', '--events', 'NewMail', '--connection-timeout', '1'], { env: appEnv(idp, sim) });
        await sim.waitFor(() => sim.connections().length === 1, 15_000);
        sim.deliverMail({ subject: 'before' });
        await cli.lines(1);
        idp.expireAccessTokens();
        const mark = sim.requests.length;
        sim.deliverMail({ subject: 'while expiring' });
        // The next GetStreamingEvents carries the expired token, gets 401, and is retried with a new one.
        await sim.waitFor(() => grants(idp, 'client_credentials') === 2 && sim.connections().length === 1, 15_000);
        sim.deliverMail({ subject: 'after' });
        await cli.lines(3);
        cli.child.kill('SIGINT');
        const r = await cli.result();
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, '');
        const lines = parseLines(r.stdout);
        const inbox = sim.items('inbox');
        assert.deepEqual(new Set(lines.map((l) => l.itemId)), new Set(inbox.map((m) => m.id)));
        assert.equal(lines.length, 3);
        assert.equal(requestsOf(sim, 'Subscribe').length, 1);
        const streams = requestsOf(sim, 'GetStreamingEvents');
        const ids = new Set(streams.flatMap((q) => subscriptionIdsIn(q.body)));
        assert.equal(ids.size, 1, 'every stream used the one subscription');
        assert.ok(lines.every((l) => ids.has(String(l.subscriptionId))));
        // After expiry: the stream request with the old token (refused), then the same request with the new one.
        const [oldToken, newToken] = idp.issued();
        const later = sim.requests.slice(mark).filter((q) => q.operation === 'GetStreamingEvents').map((q) => (q.headers.authorization ?? '').replace(/^Bearer /, ''));
        assert.equal(later[0], oldToken);
        assert.equal(later[1], newToken);
        assert.ok(later.slice(1).every((t) => t === newToken));
        assert.equal(grants(idp, 'client_credentials'), 2);
      }),
    );
  });

  it('a revoked app exits 4 and names the credentials to check', async () => {
    await withIdp((idp) =>
      withSim({ acceptToken: (t) => idp.isValid(t), minuteMs: 250 }, async (sim) => {
        const cli = startCli(['--json', '--events', 'NewMail', '--connection-timeout', '1'], { env: appEnv(idp, sim) });
        await sim.waitFor(() => sim.connections().length === 1, 15_000);
        sim.deliverMail({});
        await cli.lines(1);
        idp.revokeAll();
        const r = await cli.result();
        assert.equal(r.code, 4);
        assert.equal(parseLines(r.stdout).length, 1);
        assert.match(r.stderr, /refused app .*AADSTS7000215.*check EWS_CLIENT_SECRET or --client-cert/);
        assert.doesNotMatch(r.stderr, new RegExp(idp.clientSecret));
        // The last line is the reason for exit 4 (a warning about the Unsubscribe that could not be sent may come first).
        assert.match(r.stderr.trim().split('\n').at(-1)!, /^ews-watch: the Microsoft identity platform refused app/);
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      }),
    );
  });

  it('Exchange refusing even a fresh token: one refresh, then exit 4 naming the EWS allow list', async () => {
    await withIdp((idp) =>
      withSim({ acceptToken: () => false }, async (sim) => {
        const r = await runCli(['--json'], { env: appEnv(idp, sim) });
        assert.equal(r.code, 4);
        assert.equal(r.stdout, '');
        assert.match(r.stderr, /Subscribe: .*HTTP 401.*even after a new token/);
        assert.match(r.stderr, /Set-OrganizationConfig -EWSEnabled \$true and -EwsAllowedAppIDs with d3590ed6/);
        assert.equal(requestsOf(sim, 'Subscribe').length, 2, 'the request, and one retry');
        assert.equal(grants(idp, 'client_credentials'), 2, 'one token, and one refresh');
      }),
    );
  });

  it('a person with the CLI: login (device code, polling) stores the cache; a later run streams silently; logout forgets it', async () => {
    await withIdp((idp) =>
      withSim({ acceptToken: (t) => idp.isValid(t) }, async (sim) => {
        const config = mkdtempSync(join(tmpdir(), 'ews-watch-oauth-'));
        try {
          const env = { EWS_TENANT_ID: idp.tenant, EWS_CLIENT_ID: idp.clientId, EWS_AUTHORITY: idp.authority, NODE_EXTRA_CA_CERTS: idp.caFile, EWS_KEYCHAIN: 'file', XDG_CONFIG_HOME: config };
          const login = await runCli(['login', '--auth', 'oauth'], { env });
          assert.equal(login.code, 0, login.stderr);
          assert.equal(login.stdout, '');
          assert.match(login.stderr, new RegExp(`enter the code ${idp.userCodes[0]} to authenticate`));
          assert.match(login.stderr, /signed in as alice@contoso\.com/);
          assert.deepEqual(idp.requests.filter((r) => /device_code/.test(r.kind)).map((r) => r.error ?? 'ok'), ['authorization_pending', 'authorization_pending', 'ok']);
          assert.match(readFileSync(join(config, 'ews-watch', 'credentials.json'), 'utf8'), /oauth:/, 'the cache went to the file store');

          sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
          const grantsBefore = idp.requests.filter((r) => r.path.endsWith('/token')).length;
          const watch = await runCli(['--json', '--max-events', '2', '--auth', 'oauth', '--user', idp.username, '--url', sim.url], { env });
          assert.equal(watch.stderr, '');
          assert.equal(watch.code, 0);
          assert.deepEqual(parseLines(watch.stdout).map((l) => l.event), ['Created', 'NewMail']);
          // The cached access token was used: no token request at all, and no impersonation for a person.
          assert.equal(idp.requests.filter((r) => r.path.endsWith('/token')).length, grantsBefore);
          assert.equal(bearerOf(sim, 0), idp.issued()[0]);
          assert.doesNotMatch(sim.requests[0]!.body, /ExchangeImpersonation/);

          const logout = await runCli(['logout', '--auth', 'oauth'], { env });
          assert.equal(logout.code, 0, logout.stderr);
          const again = await runCli(['--json', '--auth', 'oauth', '--user', idp.username, '--url', sim.url], { env });
          assert.equal(again.code, 4);
          assert.match(again.stderr, /not signed in .*run ews-watch login --auth oauth --tenant/);
        } finally {
          rmSync(config, { recursive: true, force: true });
        }
      }),
    );
  });

  // In process (the real transport and engine over HTTP, an in-memory cache): the refresh-token path after
  // Exchange refuses an expired delegated token mid-run.
  it('a person: device code sign-in (with polling), then streaming with the cached token and a silent refresh', async () => {
    await withIdp((idp) =>
      withSim({ acceptToken: (t) => idp.isValid(t), minuteMs: 250 }, async (sim) => {
        const store = createMemoryStore();
        const net = { tenant: idp.tenant, clientId: idp.clientId, authority: idp.authority, networkClient: trustingNetworkClient(idp.ca) };
        const shown: string[] = [];
        const login = await loginWithDeviceCode({ ...net, store, write: (l) => shown.push(l) });
        assert.equal(login.username, idp.username);
        assert.match(shown.join('\n'), /microsoft\.com\/devicelogin and enter the code/);
        const auth = await createOAuthAuth({ ...net, store, username: idp.username });
        const http = createEwsHttp({ url: new URL(sim.url), auth, anchorMailbox: sim.mailboxAddress, logger: createLogger(() => undefined, 0), now: Date.now });
        const lines: string[] = [];
        const client = createEwsClient({ http, auth, ctx: { serverVersion: 'Exchange2013_SP1' }, folders: { kind: 'folders', folders: [{ kind: 'distinguished', name: 'inbox' }] }, events: ['NewMail'], user: idp.username });
        const stop = new AbortController();
        const output = createNdjsonSink((l) => void lines.push(l));
        const path = createPrintedPath({ mailbox: sim.mailboxAddress, clock: systemClock, signal: stop.signal, output, maxEvents: 2, log: { debug: () => undefined, warn: () => undefined } });
        const watching = runWatch({ client, clock: systemClock, random: () => 0.5, port: path.port(), connectionTimeoutMinutes: 1, heartbeatTimeoutMs: 30_000 }, path.signal);
        try {
          await sim.waitFor(() => sim.connections().length === 1, 15_000);
          sim.deliverMail({ subject: 'one' });
          await sim.waitFor(() => lines.length === 1, 15_000);
          idp.expireAccessTokens();
          sim.deliverMail({ subject: 'two' });
          // Bounded: --max-events ends the run with an Unsubscribe; a lost event would time out here, not hang.
          await sim.waitFor(() => requestsOf(sim, 'Unsubscribe').length === 1, 15_000);
          const result = await watching;
          assert.equal(result.reason, 'max-events');
        } finally {
          stop.abort();
          await watching.catch(() => undefined);
          await http.close();
        }
        assert.equal(lines.length, 2);
        assert.deepEqual(new Set(lines.map((l) => JSON.parse(l).itemId)), new Set(sim.items('inbox').map((m) => m.id)));
        assert.equal(requestsOf(sim, 'Subscribe').length, 1);
        // The first token came from the device code; the second from the refresh token, after Exchange's 401.
        assert.equal(grants(idp, 'refresh_token'), 1);
        assert.ok(sim.requests.every((q) => /^Bearer fake-at\./.test(q.headers.authorization ?? '')));
      }),
    );
  });
});
