// The simulator over https: a certificate signed by a throwaway CA (test/support/tls.ts); clients that trust that
// CA get through (Basic and a connection-bound NTLM handshake), clients that do not fail on the certificate.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { makeTestCertificate, type TestCertificate } from '../support/tls.js';
import { basicAuth, subscribeBody, textOf } from './helpers.js';
import { handshake, oneSocketAgent, send } from './ntlm-client.js';

/** One https POST with Basic; resolves with the status and the peer certificate, rejects with the TLS error. */
function basicPost(sim: Simulator, ca?: string): Promise<{ status: number; body: string; subjectAltName: string }> {
  return new Promise((resolve, reject) => {
    const req = request(sim.url, { method: 'POST', agent: false, ...(ca ? { ca } : {}), headers: { authorization: basicAuth(sim), 'content-type': 'text/xml; charset=utf-8', 'accept-encoding': 'identity' } }, (res) => {
      const subjectAltName = (res.socket as TLSSocket).getPeerCertificate().subjectaltname ?? '';
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), subjectAltName }));
    });
    req.on('error', reject);
    req.end(subscribeBody());
  });
}

describe('simulator over https', () => {
  let tls: TestCertificate;
  let sim: Simulator;
  const password = 'Tls-Pa55';
  before(async () => {
    tls = makeTestCertificate();
    sim = await startSimulator({ password, tls: { key: tls.key, cert: tls.cert } });
  });
  after(() => sim.close());

  test('the url is https on 127.0.0.1', () => {
    assert.equal(sim.url, `https://127.0.0.1:${sim.port}/EWS/Exchange.asmx`);
  });

  test('a client trusting the CA gets through; the certificate names 127.0.0.1', async () => {
    const answer = await basicPost(sim, tls.ca);
    assert.equal(answer.status, 200, answer.body);
    assert.equal(textOf(answer.body, 'ResponseCode'), 'NoError');
    assert.match(answer.subjectAltName, /IP Address:127\.0\.0\.1/);
    assert.equal(sim.requests.at(-1)!.operation, 'Subscribe');
  });

  test('without the CA, or trusting another CA, the connection fails on the certificate and nothing is recorded', async () => {
    const before = sim.requests.length;
    await assert.rejects(basicPost(sim), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    await assert.rejects(basicPost(sim, makeTestCertificate('another test CA').ca), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    await assert.rejects(basicPost(sim, tls.cert), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, 'the leaf is not a trust anchor here');
    assert.equal(sim.requests.length, before);
  });

  test('NTLM over TLS: the handshake binds to the TLS connection', async () => {
    const agent = oneSocketAgent(sim, tls.ca);
    const other = oneSocketAgent(sim, tls.ca);
    try {
      const { challenge, result } = await handshake(sim, agent, 'alice', password, 'CONTOSO');
      assert.equal(challenge.status, 401);
      assert.equal(result.status, 200, result.body);
      assert.equal(result.localPort, challenge.localPort);
      assert.deepEqual([sim.ntlm.logins.at(-1)!.user, sim.ntlm.logins.at(-1)!.remotePort], ['alice', result.localPort]);
      assert.equal((await send(sim, agent)).status, 200);
      assert.equal((await send(sim, other)).status, 401);
    } finally {
      agent.destroy();
      other.destroy();
    }
  });
});
