// The simulator's autodiscover, read back with ews-watch's own decoders: sign-in first (a 401 with Exchange's
// offers), settings by SOAP and POX with the simulator's EWS URL and GroupingInformation, Exchange's answers for an
// unknown address (SOAP InvalidUser, POX error 500), hosts by the Host header, and the plain-http site's 302; with
// many mailboxes on several backends, one UserResponse per user with its backend's GroupingInformation.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { buildGetUserSettings, buildGetUserSettingsBatch, buildPoxRequest, decodeGetUserSettings, decodeGetUserSettingsBatch, decodePoxAnswer } from '../../src/autodiscover/codec.js';
import type { AutodiscoverDeps } from '../../src/autodiscover/flow.js';
import { discoverMany } from '../../src/autodiscover/many.js';
import { groupMailboxes } from '../../src/fleet/grouping.js';
import { startSimulator } from '../../src/simulator/index.js';
import type { Simulator } from '../../src/simulator/types.js';

let sim: Simulator;
before(async () => {
  sim = await startSimulator({
    heartbeatMs: 60_000,
    mailbox: 'alice@contoso.test',
    autodiscover: {
      groupingInformation: 'DB4PR01',
      hosts: {
        'contoso.test': { soap: 'settings', pox: 'settings' },
        'old.contoso.test': { soap: { redirectAddr: 'alice@new.contoso.test' }, pox: { redirectUrl: 'https://ad.contoso.test/autodiscover/autodiscover.xml' } },
        'autodiscover.contoso.test': { httpRedirect: 'https://contoso.test/autodiscover/autodiscover.xml' },
      },
    },
  });
});
after(() => sim.close());

const basic = (): string => `Basic ${Buffer.from(`${sim.credentials.user}:${sim.credentials.password}`).toString('base64')}`;

async function post(host: string, path: string, body: string, signedIn = true): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const res = await request(`http://127.0.0.1:${sim.port}${path}`, { method: 'POST', body, headers: { host, 'content-type': 'text/xml; charset=utf-8', ...(signedIn ? { authorization: basic() } : {}) } });
  return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
}

const SVC = '/autodiscover/autodiscover.svc';
const XML = '/autodiscover/autodiscover.xml';

describe('simulator: autodiscover', () => {
  it('without credentials: 401 with the same offers as EWS (Negotiate, NTLM, Basic)', async () => {
    const r = await post('contoso.test', SVC, buildGetUserSettings('alice@contoso.test', `https://contoso.test${SVC}`), false);
    assert.equal(r.status, 401);
    assert.deepEqual(r.headers['www-authenticate'], ['Negotiate', 'NTLM', 'Basic realm="contoso.test"']);
  });

  it('SOAP: ExternalEwsUrl and InternalEwsUrl are its EWS URL, GroupingInformation as configured', async () => {
    const r = await post('contoso.test', SVC, buildGetUserSettings('Alice@Contoso.test', `https://contoso.test${SVC}`));
    assert.equal(r.status, 200);
    assert.deepEqual(decodeGetUserSettings(r.body), { kind: 'settings', externalEwsUrl: sim.url, internalEwsUrl: sim.url, groupingInformation: 'DB4PR01' });
  });

  it('POX: EXCH and EXPR blocks with EwsUrl, GroupingInformation in EXPR', async () => {
    const r = await post('contoso.test', XML, buildPoxRequest('alice@contoso.test'));
    assert.deepEqual(decodePoxAnswer(r.body), { kind: 'settings', externalEwsUrl: sim.url, internalEwsUrl: sim.url, groupingInformation: 'DB4PR01' });
  });

  it("an unknown address: SOAP InvalidUser, POX error 500 \"The email address can't be found.\"", async () => {
    const soap = await post('contoso.test', SVC, buildGetUserSettings('bob@contoso.test', `https://contoso.test${SVC}`));
    assert.deepEqual(decodeGetUserSettings(soap.body), { kind: 'error', code: 'InvalidUser', message: "Invalid user: 'bob@contoso.test'" });
    const pox = await post('contoso.test', XML, buildPoxRequest('bob@contoso.test'));
    assert.deepEqual(decodePoxAnswer(pox.body), { kind: 'error', code: '500', message: "The email address can't be found." });
  });

  it('redirects in each protocol’s own words', async () => {
    const soap = await post('old.contoso.test', SVC, buildGetUserSettings('alice@contoso.test', `https://old.contoso.test${SVC}`));
    assert.deepEqual(decodeGetUserSettings(soap.body), { kind: 'redirect-address', address: 'alice@new.contoso.test' });
    const pox = await post('old.contoso.test', XML, buildPoxRequest('alice@contoso.test'));
    assert.deepEqual(decodePoxAnswer(pox.body), { kind: 'redirect-url', url: 'https://ad.contoso.test/autodiscover/autodiscover.xml' });
  });

  it("a host without autodiscover: IIS's 404; the plain-http site: a 302 for a GET without credentials", async () => {
    assert.equal((await post('nothing.contoso.test', SVC, buildGetUserSettings('alice@contoso.test', 'x'))).status, 404);
    const res = await request(`http://127.0.0.1:${sim.port}${XML}`, { method: 'GET', headers: { host: 'autodiscover.contoso.test' } });
    await res.body.dump();
    assert.equal(res.statusCode, 302);
    assert.equal(res.headers.location, 'https://contoso.test/autodiscover/autodiscover.xml');
  });
});

describe('simulator: autodiscover for many mailboxes on several backends', () => {
  const EWS_URL = 'https://mail.contoso.test/EWS/Exchange.asmx';
  // a, then u0 u2 u4 u6 on EXSIM01; b, then u1 u3 u5 u7 on EXSIM02.
  const pinned = Array.from({ length: 8 }, (_, i) => ({ address: `u${i}@contoso.test`, backend: i % 2 === 0 ? 'EXSIM01.contoso.local' : 'EXSIM02.contoso.local' }));
  const backendOf = new Map([['a@contoso.test', 'EXSIM01'], ['b@contoso.test', 'EXSIM02'], ...pinned.map((p) => [p.address, p.backend.split('.')[0]!] as [string, string])]);
  let farm: Simulator;
  before(async () => {
    farm = await startSimulator({
      heartbeatMs: 60_000,
      mailbox: 'svc@contoso.test',
      // https, as discoverMany takes no other (one front door for every backend, as a load-balanced Exchange has).
      autodiscover: { ewsUrl: EWS_URL },
      backends: ['EXSIM01.contoso.local', 'EXSIM02.contoso.local'],
      mailboxes: [
        { address: 'a@contoso.test', backend: 'EXSIM01.contoso.local' },
        { address: 'b@contoso.test', backend: 'EXSIM02.contoso.local' },
        ...pinned,
      ],
    });
  });
  after(() => farm.close());

  const askFarm = async (body: string): Promise<string> => {
    const auth = `Basic ${Buffer.from(`${farm.credentials.user}:${farm.credentials.password}`).toString('base64')}`;
    const res = await request(`http://127.0.0.1:${farm.port}${SVC}`, { method: 'POST', body, headers: { host: 'contoso.test', 'content-type': 'text/xml; charset=utf-8', authorization: auth } });
    assert.equal(res.statusCode, 200);
    return res.body.text();
  };

  it('one UserResponse per User, in order: each its backend\'s GroupingInformation, an unknown one InvalidUser', async () => {
    const body = await askFarm(buildGetUserSettingsBatch(['B@contoso.test', 'nobody@contoso.test', 'a@contoso.test', 'svc@contoso.test'], `https://contoso.test${SVC}`));
    assert.deepEqual(decodeGetUserSettingsBatch(body), {
      kind: 'users',
      users: [
        { kind: 'settings', externalEwsUrl: EWS_URL, internalEwsUrl: EWS_URL, groupingInformation: 'EXSIM02' },
        { kind: 'error', code: 'InvalidUser', message: "Invalid user: 'nobody@contoso.test'" },
        { kind: 'settings', externalEwsUrl: EWS_URL, internalEwsUrl: EWS_URL, groupingInformation: 'EXSIM01' },
        { kind: 'settings', externalEwsUrl: EWS_URL, internalEwsUrl: EWS_URL, groupingInformation: 'EXSIM01' },
      ],
    });
  });

  it('discoverMany then groupMailboxes against it: one group per backend, each member on its own backend', async () => {
    const deps: AutodiscoverDeps = {
      async post(url, body) {
        return { status: 200, body: await askFarm(body) };
      },
      get: () => Promise.reject(new Error('unexpected')),
      resolveSrv: () => Promise.reject(new Error('unexpected')),
      log: () => {},
    };
    const addresses = ['a@contoso.test', 'b@contoso.test', ...Array.from({ length: 8 }, (_, i) => `u${i}@contoso.test`)];
    const found = await discoverMany(deps, { addresses });
    const located = [...found].map(([address, r]) => {
      assert.ok(r.ok, address);
      return { address, ewsUrl: r.ewsUrl, ...(r.groupingInformation ? { groupingInformation: r.groupingInformation } : {}) };
    });
    const groups = groupMailboxes(located);
    assert.deepEqual(groups.map((g) => [g.groupingInformation, g.ewsUrl, g.anchor]), [
      ['EXSIM01', EWS_URL, 'a@contoso.test'],
      ['EXSIM02', EWS_URL, 'b@contoso.test'],
    ]);
    for (const g of groups) assert.ok(g.members.every((m) => backendOf.get(m) === g.groupingInformation), `${g.id}: ${g.members.join(' ')}`);
    assert.equal(groups.reduce((n, g) => n + g.members.length, 0), 10);
  });
});
