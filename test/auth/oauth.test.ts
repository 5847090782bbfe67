// The OAuth provider and device-code login against the fake identity platform (test/support/fake-identity.ts)
// over real https on 127.0.0.1: device code with polling, client credentials (secret and certificate), silent
// refresh from the token cache, renewal ahead of expiry (fake clock), refresh after a 401, revocation.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createMemoryStore, tokenCacheAccount } from '../../src/auth/oauth-cache.js';
import { loginWithDeviceCode, logoutOAuth } from '../../src/auth/oauth-login.js';
import { createOAuthAuth, dueForRenewal, parseCertificatePem, resolveAuthority } from '../../src/auth/oauth.js';
import { AuthError, UsageError } from '../../src/errors.js';
import { startFakeIdentity, trustingNetworkClient, type FakeIdentity } from '../support/fake-identity.js';

const tokenGrants = (idp: FakeIdentity, kind: string): number => idp.requests.filter((r) => r.kind === kind && r.status === 200).length;
const bearer = (header: string): string => header.replace(/^Bearer /, '');

describe('OAuth provider against the fake identity platform', () => {
  let idp: FakeIdentity;
  before(async () => {
    idp = await startFakeIdentity({ pendingPolls: 2 });
  });
  after(async () => idp?.close());
  const common = () => ({ tenant: idp.tenant, clientId: idp.clientId, authority: idp.authority, networkClient: trustingNetworkClient(idp.ca) });

  it('device code: prints the code, polls through authorization_pending, stores the cache; a later run is silent', async () => {
    const store = createMemoryStore();
    const shown: string[] = [];
    const before = idp.requests.length;
    const result = await loginWithDeviceCode({ ...common(), store, write: (l) => shown.push(l) });
    assert.equal(result.username, idp.username);
    assert.equal(result.storeAccount, tokenCacheAccount(idp.tenant, idp.clientId));
    const userCode = idp.userCodes.at(-1)!;
    assert.equal(shown.length, 1);
    assert.match(shown[0]!, new RegExp(`enter the code ${userCode}`));
    const polls = idp.requests.slice(before).filter((r) => /device_code/.test(r.kind));
    assert.deepEqual(polls.map((p) => p.error ?? 'ok'), ['authorization_pending', 'authorization_pending', 'ok']);
    const saved = store.entries.get(result.storeAccount);
    assert.ok(saved && /RefreshToken/.test(saved), 'the token cache with a refresh token went to the store');

    // A new run (a new provider over the same store): the cached access token is used, no network token call.
    const grantsBefore = idp.requests.filter((r) => r.path.endsWith('/token')).length;
    const auth = await createOAuthAuth({ ...common(), store });
    const header = await auth.authorization();
    assert.match(header, /^Bearer fake-at\./);
    assert.ok(idp.isValid(bearer(header)));
    assert.equal(idp.requests.filter((r) => r.path.endsWith('/token')).length, grantsBefore);
    assert.equal(auth.scheme, 'oauth');

    // refresh() (after a 401) uses the refresh token and gives a different, valid token.
    idp.expireAccessTokens();
    assert.equal(await auth.refresh(), true);
    const next = await auth.authorization();
    assert.notEqual(next, header);
    assert.ok(idp.isValid(bearer(next)));
    assert.equal(idp.requests.at(-1)!.kind, 'refresh_token');
    assert.ok(auth.secrets.includes(bearer(next)));
  });

  it('renews a token ahead of its expiry (fake clock), and not before', async () => {
    const store = createMemoryStore();
    await loginWithDeviceCode({ ...common(), store, write: () => undefined });
    let now = Date.now();
    const auth = await createOAuthAuth({ ...common(), store, now: () => now });
    const first = await auth.authorization();
    now += 50 * 60_000; // 10 minutes left of 60: still fine
    assert.equal(await auth.authorization(), first);
    const refreshes = tokenGrants(idp, 'refresh_token');
    now += 6 * 60_000; // 4 minutes left: renew before use
    const second = await auth.authorization();
    assert.notEqual(second, first);
    assert.equal(tokenGrants(idp, 'refresh_token'), refreshes + 1);
  });

  it('a revoked sign-in is an AuthError that names the login command', async () => {
    const own = await startFakeIdentity({ pendingPolls: 0 });
    try {
      const store = createMemoryStore();
      const opts = { tenant: own.tenant, clientId: own.clientId, authority: own.authority, networkClient: trustingNetworkClient(own.ca) };
      await loginWithDeviceCode({ ...opts, store, write: () => undefined });
      const auth = await createOAuthAuth({ ...opts, store });
      await auth.authorization();
      own.revokeAll();
      await assert.rejects(auth.refresh(), (e: unknown) => {
        assert.ok(e instanceof AuthError);
        assert.match(e.message, /expired or was revoked/);
        assert.match(e.message, /AADSTS50173/);
        assert.ok(e.message.includes(`ews-watch login --auth oauth --tenant ${own.tenant} --client-id ${own.clientId}`));
        return true;
      });
    } finally {
      await own.close();
    }
  });

  it('not signed in: an AuthError that says to run login first; logout forgets the cache', async () => {
    const store = createMemoryStore();
    const auth = await createOAuthAuth({ ...common(), store });
    await assert.rejects(auth.authorization(), (e: unknown) => e instanceof AuthError && /not signed in .*run ews-watch login --auth oauth/.test(e.message));
    await loginWithDeviceCode({ ...common(), store, write: () => undefined });
    assert.equal(await logoutOAuth(store, idp.tenant, idp.clientId), true);
    assert.equal(store.entries.size, 0);
    assert.equal(await logoutOAuth(store, idp.tenant, idp.clientId), false);
  });

  it('client credentials with a secret: one token for many requests, a new one on refresh()', async () => {
    const auth = await createOAuthAuth({ ...common(), app: { kind: 'secret', secret: idp.clientSecret } });
    const grants = tokenGrants(idp, 'client_credentials');
    const a = await auth.authorization();
    assert.equal(await auth.authorization(), a);
    assert.equal(tokenGrants(idp, 'client_credentials'), grants + 1);
    assert.ok(idp.isValid(bearer(a)));
    await auth.refresh();
    const b = await auth.authorization();
    assert.notEqual(b, a);
    assert.equal(tokenGrants(idp, 'client_credentials'), grants + 2);
    assert.ok(auth.secrets.includes(idp.clientSecret));
    assert.match(auth.advice(403), /Set-OrganizationConfig -EWSEnabled \$true and -EwsAllowedAppIDs with d3590ed6/);
    assert.match(auth.advice(401), /full_access_as_app/);
  });

  it('client credentials with a certificate: a signed assertion the platform verifies', async () => {
    const pem = readFileSync(idp.clientCertFile, 'utf8');
    const auth = await createOAuthAuth({ ...common(), app: { kind: 'certificate', pem } });
    const header = await auth.authorization();
    assert.ok(idp.isValid(bearer(header)));
    // The private key is a secret too.
    assert.ok(auth.secrets.some((s) => s.includes('PRIVATE KEY')));
  });

  it('a wrong or revoked app secret is an AuthError naming EWS_CLIENT_SECRET', async () => {
    const auth = await createOAuthAuth({ ...common(), app: { kind: 'secret', secret: 'wrong' } });
    await assert.rejects(auth.authorization(), (e: unknown) => e instanceof AuthError && /AADSTS7000215/.test(e.message) && /EWS_CLIENT_SECRET or --client-cert/.test(e.message) && !e.message.includes('wrong'));
  });
});

describe('OAuth pieces without a network', () => {
  it('dueForRenewal: 5 minutes ahead, or a quarter of a shorter lifetime', () => {
    const h = { token: 't', obtainedAt: 0, expiresAt: 3600_000 };
    assert.equal(dueForRenewal(h, 3600_000 - 300_001), false);
    assert.equal(dueForRenewal(h, 3600_000 - 300_000), true);
    const short = { token: 't', obtainedAt: 0, expiresAt: 40_000 };
    assert.equal(dueForRenewal(short, 29_999), false);
    assert.equal(dueForRenewal(short, 30_000), true);
  });

  it('resolveAuthority: login.microsoftonline.com by default; https only', () => {
    assert.equal(resolveAuthority('contoso.onmicrosoft.com', undefined), 'https://login.microsoftonline.com/contoso.onmicrosoft.com');
    assert.equal(resolveAuthority('t', 'https://login.microsoftonline.us/t/'), 'https://login.microsoftonline.us/t');
    assert.throws(() => resolveAuthority('t', 'http://127.0.0.1:1/t'), UsageError);
    assert.throws(() => resolveAuthority('t', 'not a url'), UsageError);
  });

  it('parseCertificatePem: needs the key and the certificate; refuses an encrypted key', () => {
    assert.throws(() => parseCertificatePem('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), /both the private key and the certificate/);
    assert.throws(() => parseCertificatePem('-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n'), /encrypted/);
  });
});
