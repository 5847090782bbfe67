// `ews-watch check` end to end against the simulator: the configuration with its sources, the scheme, the
// server version and timings on success; exit 4 with one FAIL line and what to try for a wrong password.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../support/cli.js';
import { envFor, requestsOf, subscriptionIdsIn, withSim } from './helpers.js';

describe('ews-watch check', () => {
  it('signs in, subscribes and unsubscribes once, and prints the server version and the scheme', async () => {
    await withSim({}, async (sim) => {
      const env = envFor(sim);
      const r = await runCli(['check', '--user', sim.credentials.user], { env: { EWS_URL: env.EWS_URL, EWS_PASSWORD: env.EWS_PASSWORD } });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, /^configuration\n/);
      assert.match(r.stdout, new RegExp(`\\n  url +${sim.url.replace(/[.]/g, '\\.')} +\\(env\\)\\n`));
      assert.match(r.stdout, /\n  user +\S+ +\(flag\)\n/);
      assert.match(r.stdout, /\n  secret +password +\(env\)\n/);
      assert.match(r.stdout, /\nok {4}signed in with ntlm \(chosen by --auth auto; the server offers Negotiate, NTLM, Basic\)\n/);
      assert.match(r.stdout, /\nok {4}Subscribe to inbox: \d+ ms\n/);
      assert.match(r.stdout, /\nok {4}Unsubscribe: \d+ ms\n/);
      assert.match(r.stdout, /\nserver Exchange 15\.1\.2507\.6 \(schema V2017_07_11\), Exchange 2016\n/);
      assert.equal(r.stdout.includes(sim.credentials.password), false);
      // auto's first try goes without credentials (to learn the offers); the Subscribe that counts carries NTLM's answer.
      const subs = requestsOf(sim, 'Subscribe').filter((q) => q.headers.authorization !== undefined);
      const unsubs = requestsOf(sim, 'Unsubscribe');
      assert.equal(subs.length, 1);
      assert.equal(unsubs.length, 1);
      assert.equal(requestsOf(sim, 'GetStreamingEvents').length, 0);
      assert.equal(sim.subscriptions().length, 0);
      assert.equal(subscriptionIdsIn(unsubs[0].body).length, 1);
    });
  });

  it('a wrong password exits 4 with one clear FAIL line and what to try', async () => {
    await withSim({}, async (sim) => {
      const r = await runCli(['check'], { env: envFor(sim, { EWS_PASSWORD: 'not-the-password' }) });
      assert.equal(r.code, 4);
      const fails = r.stdout.split('\n').filter((l) => l.startsWith('FAIL'));
      assert.deepEqual(fails.length, 1);
      assert.match(fails[0], /^FAIL  sign-in and Subscribe: the server rejected the credentials of .* \(HTTP 401\)/);
      assert.match(r.stdout, /\n {6}try: check the user name/);
      assert.equal(r.stdout.includes('not-the-password') || r.stderr.includes('not-the-password'), false);
    });
  });
});
