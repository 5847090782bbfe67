// The simulator's autodiscover, read back with ews-watch's own decoders: sign-in first (a 401 with Exchange's
// offers), settings by SOAP and POX with the simulator's EWS URL and GroupingInformation, Exchange's answers for an
// unknown address (SOAP InvalidUser, POX error 500), hosts by the Host header, and the plain-http site's 302.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { buildGetUserSettings, buildPoxRequest, decodeGetUserSettings, decodePoxAnswer } from '../../src/autodiscover/codec.js';
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
