// The simulated organisation's configuration and routing (src/simulator/farm-config.ts, farm-routing.ts), as tables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';
import { buildFarmConfig } from '../../src/simulator/farm-config.js';
import { backendOfCookie, overrideCookieOf, routeRequest } from '../../src/simulator/farm-routing.js';

const SVC = 'svc@contoso.com';

test('farm config: "450 mailboxes on 2 backends, these 3 lack impersonation rights" in one line', () => {
  const denied = ['user007@contoso.com', 'user100@contoso.com', 'user450@contoso.com'];
  const c = buildFarmConfig({ mailboxes: 450, backends: 2, noImpersonation: denied }, SVC);
  assert.deepEqual(c.backends, ['EXSIM01.contoso.local', 'EXSIM02.contoso.local']);
  assert.equal(c.mailboxes.size, 451);
  const all = [...c.mailboxes.values()];
  assert.deepEqual(all.slice(0, 3), [
    { address: SVC, backend: 'EXSIM01.contoso.local' },
    { address: 'user001@contoso.com', backend: 'EXSIM02.contoso.local' },
    { address: 'user002@contoso.com', backend: 'EXSIM01.contoso.local' },
  ]);
  assert.equal(all.filter((m) => m.backend === 'EXSIM02.contoso.local').length, 225);
  assert.deepEqual([...c.denied], denied);
  assert.deepEqual(c.limits, { hangingConnections: 10, subscriptionsPerMailbox: 20, concurrency: 27, backOffMs: 1000 });
  assert.equal(buildFarmConfig({ mailboxes: 1, throttling: 'exchange2013' }, SVC).limits.hangingConnections, 3);
  assert.equal(buildFarmConfig({ mailboxes: 1, throttling: { concurrency: 5 } }, SVC).limits.concurrency, 5);
});

test('farm config: named backends, pinned mailboxes, and the mistakes a test can make are UsageErrors', () => {
  const c = buildFarmConfig({ backends: ['DB7PR04MB4764.EURPRD04.PROD.OUTLOOK.COM', 'CO1PR06MB222.namprd06.prod.outlook.com'], mailboxes: [{ address: 'a@contoso.com', backend: 'db7pr04mb4764.eurprd04.prod.outlook.com' }, 'b@contoso.com'] }, SVC);
  assert.equal(c.mailboxes.get('a@contoso.com')!.backend, 'DB7PR04MB4764.EURPRD04.PROD.OUTLOOK.COM');
  assert.equal(c.mailboxes.get('b@contoso.com')!.backend, 'DB7PR04MB4764.EURPRD04.PROD.OUTLOOK.COM');
  const bad: Array<[Parameters<typeof buildFarmConfig>[0], RegExp]> = [
    [{ mailboxes: ['a@contoso.com', 'A@contoso.com'] }, /listed twice/],
    [{ mailboxes: ['not-an-address'] }, /not an SMTP address/],
    [{ mailboxes: [{ address: 'a@contoso.com', backend: 'nowhere.contoso.local' }] }, /names backend nowhere/],
    [{ mailboxes: 3, noImpersonation: ['user009@contoso.com'] }, /noImpersonation names user009/],
    [{ backends: 0 }, /at least one backend/],
    [{ backends: ['under_score'] }, /not a host name/],
    [{ mailboxes: -1 }, /whole number/],
    [{ mailboxes: 1, throttling: { concurrency: 1.5 } }, /concurrency must be a whole number/],
  ];
  for (const [options, message] of bad) assert.throws(() => buildFarmConfig(options, SVC), (e: unknown) => e instanceof UsageError && message.test(e.message), String(message));
});

test('farm routing: the cookie when valid, else X-AnchorMailbox, else the impersonated or signed-in mailbox', () => {
  const c = buildFarmConfig({ mailboxes: ['a@contoso.com', 'b@contoso.com'], backends: 2 }, SVC); // svc on 01, a on 02, b on 01
  const route = (input: Partial<Parameters<typeof routeRequest>[1]>): unknown => {
    const r = routeRequest(c, { signedIn: SVC, ...input });
    return r.ok ? [r.target.address, r.backend, r.by] : r.code;
  };
  assert.deepEqual(route({}), [SVC, 'EXSIM01.contoso.local', 'mailbox']);
  assert.deepEqual(route({ impersonate: 'A@contoso.com' }), ['a@contoso.com', 'EXSIM02.contoso.local', 'mailbox']);
  assert.deepEqual(route({ impersonate: 'b@contoso.com', anchor: 'a@contoso.com' }), ['b@contoso.com', 'EXSIM02.contoso.local', 'anchor']);
  assert.deepEqual(route({ impersonate: 'b@contoso.com', anchor: 'nobody@contoso.com' }), ['b@contoso.com', 'EXSIM01.contoso.local', 'mailbox']);
  assert.deepEqual(route({ impersonate: 'b@contoso.com', anchor: 'b@contoso.com', cookie: 'exsim02.CONTOSO.local~1941996295' }), ['b@contoso.com', 'EXSIM02.contoso.local', 'cookie']);
  // An invalid cookie (unknown backend, no number) is as good as none: X-AnchorMailbox decides.
  for (const cookie of ['EXSIM09.contoso.local~1', 'EXSIM02.contoso.local', 'EXSIM02.contoso.local~x', '']) {
    assert.deepEqual(route({ impersonate: 'a@contoso.com', anchor: 'b@contoso.com', cookie }), ['a@contoso.com', 'EXSIM01.contoso.local', 'anchor'], cookie);
  }
});

test('farm routing: an unknown address is ErrorNonExistentMailbox, a denied one ErrorImpersonateUserDenied; oneself is always allowed', () => {
  const c = buildFarmConfig({ mailboxes: ['a@contoso.com'], noImpersonation: ['a@contoso.com', SVC] }, SVC);
  assert.deepEqual(routeRequest(c, { signedIn: SVC, impersonate: 'ghost@contoso.com' }), { ok: false, code: 'ErrorNonExistentMailbox' });
  assert.deepEqual(routeRequest(c, { signedIn: SVC, impersonate: 'a@contoso.com', cookie: 'EXSIM01.contoso.local~1' }), { ok: false, code: 'ErrorImpersonateUserDenied' });
  assert.equal(routeRequest(c, { signedIn: SVC, impersonate: SVC }).ok, true);
  c.denied.delete('a@contoso.com');
  assert.equal(routeRequest(c, { signedIn: SVC, impersonate: 'a@contoso.com' }).ok, true);
});

test('farm routing: the override cookie is read from a Cookie header among others; the last one wins', () => {
  assert.equal(overrideCookieOf(undefined), undefined);
  assert.equal(overrideCookieOf('exchangecookie=1; X-BackEndCookie=a=b'), undefined);
  assert.equal(overrideCookieOf('a=1; X-BackEndOverrideCookie=EXSIM01.contoso.local~5; b=2'), 'EXSIM01.contoso.local~5');
  assert.equal(overrideCookieOf('X-BackEndOverrideCookie=old~1; x-backendoverridecookie=new~2'), 'new~2');
  const c = buildFarmConfig({ backends: 2 }, SVC);
  assert.equal(backendOfCookie(c, 'exsim02.contoso.local~12'), 'EXSIM02.contoso.local');
  assert.equal(backendOfCookie(c, undefined), undefined);
});
