// Sign-in end to end: the built CLI against the simulator, which verifies NTLMv2 itself (src/simulator/ntlm.ts)
// and serves https with a throwaway CA. --auth ntlm, basic and auto each stream events; NTLM authenticates each
// connection once and again after a drop; -v never shows the password, the NTLM messages or a token; --ca-file
// and --insecure do what they say.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { md4 } from '../../src/simulator/md4.js';
import { runCli, startCli } from '../support/cli.js';
import { makeTestCertificate, type TestCertificate } from '../support/tls.js';
import { parseLines, requestsOf, withSim } from './helpers.js';

const domainUser = 'CONTOSO\\alice';

describe('sign-in, end to end', { concurrency: 2 }, () => {
  it('--auth ntlm with CONTOSO\\alice: one handshake per connection, events stream', async () => {
    await withSim({}, async (sim) => {
      const run = startCli(['--json', '--auth', 'ntlm', '--user', domainUser, '--mailbox', sim.mailboxAddress, '--max-events', '2', '--events', 'NewMail,Created'], {
        env: { EWS_URL: sim.url, EWS_PASSWORD: sim.credentials.password },
      });
      await sim.waitFor(() => sim.connections().length > 0);
      sim.deliverMail({ subject: 'NTLM works' });
      const r = await run.result();
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(parseLines(r.stdout).map((l) => l.event), ['Created', 'NewMail']);
      // The calls connection and the stream connection each signed in once, as CONTOSO\alice.
      assert.equal(sim.ntlm.logins.length, 2);
      assert.deepEqual([...new Set(sim.ntlm.logins.map((l) => `${l.domain}\\${l.user}`))], ['CONTOSO\\alice']);
      assert.equal(new Set(sim.ntlm.logins.map((l) => l.connection)).size, 2);
      assert.deepEqual(sim.ntlm.rejections, []);
      // The requests after the handshake on a connection carry no Authorization at all (IIS keeps the sign-in).
      const unsub = requestsOf(sim, 'Unsubscribe')[0];
      assert.ok(unsub);
      assert.equal(unsub.headers.authorization, undefined);
    });
  });

  it('NTLM signs in again on the new connection after the stream connection drops, and no event is lost', async () => {
    await withSim({}, async (sim) => {
      const run = startCli(['--json', '--auth', 'ntlm', '--max-events', '2', '--events', 'NewMail'], {
        env: { EWS_URL: sim.url, EWS_USER: sim.credentials.user, EWS_PASSWORD: sim.credentials.password, EWS_WATCH_QUIET_SYNC_MS: '0' },
      });
      await sim.waitFor(() => sim.connections().length > 0);
      sim.deliverMail({ subject: 'one' });
      await run.lines(1);
      const before = sim.ntlm.logins.length;
      sim.dropConnections();
      await sim.waitFor(() => sim.connections().length > 0 && sim.ntlm.logins.length > before, 20_000);
      sim.deliverMail({ subject: 'two' });
      const r = await run.result(30_000);
      assert.equal(r.code, 0, r.stderr);
      const lines = parseLines(r.stdout);
      assert.equal(lines.length, 2);
      assert.equal(new Set(lines.map((l) => l.itemId)).size, 2);
      assert.ok(sim.ntlm.logins.length > before);
    });
  });

  it('--auth basic streams', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(['--json', '--auth', 'basic', '--max-events', '1', '--events', 'NewMail'], {
        env: { EWS_URL: sim.url, EWS_USER: sim.credentials.user, EWS_PASSWORD: sim.credentials.password },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseLines(r.stdout)[0]?.event, 'NewMail');
      assert.match(requestsOf(sim, 'Subscribe')[0]?.headers.authorization ?? '', /^Basic /);
      assert.equal(sim.ntlm.logins.length, 0);
    });
  });

  it('--auth auto picks NTLM when offered and says why with -v', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(['--json', '-v', '--max-events', '1', '--events', 'NewMail'], {
        env: { EWS_URL: sim.url, EWS_USER: sim.credentials.user, EWS_PASSWORD: sim.credentials.password },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseLines(r.stdout).length, 1);
      assert.match(r.stderr, /auth: the server offers Negotiate, NTLM, Basic; using NTLM \(preferred: the password never crosses the wire\)/);
      assert.equal(sim.ntlm.logins.length, 2);
    });
  });

  it('--auth auto falls back to Basic on a server that offers only Basic', async () => {
    await withSim({ auth: { ntlm: false } }, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(['--json', '-v', '--max-events', '1', '--events', 'NewMail'], {
        env: { EWS_URL: sim.url, EWS_USER: sim.credentials.user, EWS_PASSWORD: sim.credentials.password },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseLines(r.stdout).length, 1);
      assert.match(r.stderr, /using Basic \(NTLM is not offered\)/);
      assert.match(requestsOf(sim, 'GetStreamingEvents')[0]?.headers.authorization ?? '', /^Basic /);
    });
  });

  it('a wrong NTLM password exits 4 with one line, and the server saw the refusal', async () => {
    await withSim({}, async (sim) => {
      const r = await runCli(['--json', '--auth', 'ntlm'], { env: { EWS_URL: sim.url, EWS_USER: sim.credentials.user, EWS_PASSWORD: 'wrong-password' } });
      assert.equal(r.code, 4);
      assert.equal(r.stdout, '');
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /rejected the credentials of alice@contoso\.com \(HTTP 401\)/);
      assert.equal(sim.ntlm.rejections.length, 1);
      assert.equal(r.stderr.includes('wrong-password'), false);
    });
  });

  it('-v shows neither the password, its NT hash, the NTLM messages nor a bearer token', async () => {
    await withSim({ tokens: ['tok-SECRET-123456'] }, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(['--json', '-v', '--auth', 'ntlm', '--max-events', '1', '--events', 'NewMail'], {
        env: { EWS_URL: sim.url, EWS_USER: sim.credentials.user, EWS_PASSWORD: sim.credentials.password },
      });
      assert.equal(r.code, 0, r.stderr);
      const ntHash = md4(Buffer.from(sim.credentials.password, 'utf16le'));
      const tokens = sim.requests.map((q) => q.headers.authorization ?? '').filter((a) => a !== '').map((a) => a.replace(/^\S+\s+/, ''));
      assert.ok(tokens.length >= 4, 'type 1 and type 3 on two connections');
      assert.match(r.stderr, /authorization: NTLM \[redacted\]/);
      assert.match(r.stderr, /www-authenticate: NTLM \[redacted\]/);
      for (const secret of [sim.credentials.password, ntHash.toString('hex'), ntHash.toString('base64'), ...tokens]) {
        assert.equal(r.stderr.includes(secret), false, `stderr shows ${secret.slice(0, 12)}…`);
      }
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const t = await runCli(['--json', '-v', '--auth', 'token', '--max-events', '1', '--events', 'NewMail'], {
        env: { EWS_URL: sim.url, EWS_MAILBOX: sim.mailboxAddress, EWS_ACCESS_TOKEN: 'tok-SECRET-123456' },
      });
      assert.equal(t.code, 0, t.stderr);
      assert.equal(t.stderr.includes('tok-SECRET-123456'), false);
      assert.match(t.stderr, /authorization: Bearer \[redacted\]/);
    });
  });

  it('check signs in with NTLM and prints the server version and the scheme auto chose', async () => {
    await withSim({}, async (sim) => {
      const r = await runCli(['check'], { env: { EWS_URL: sim.url, EWS_USER: sim.credentials.user, EWS_PASSWORD: sim.credentials.password } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /\nok {4}signed in with ntlm \(chosen by --auth auto; the server offers Negotiate, NTLM, Basic\)\n/);
      assert.match(r.stdout, /\nserver Exchange 15\.1\.\d+\.\d+/);
    });
  });
});

describe('TLS: --ca-file and --insecure', () => {
  let cert: TestCertificate;
  let dir: string;
  before(() => {
    cert = makeTestCertificate();
    dir = mkdtempSync(join(tmpdir(), 'ews-watch-tls-'));
    writeFileSync(join(dir, 'ca.pem'), cert.ca);
    writeFileSync(join(dir, 'not-a-cert.pem'), 'hello\n');
  });
  after(() => undefined);

  const env = (url: string, user: string, password: string, extra: Record<string, string> = {}) => ({ EWS_URL: url, EWS_USER: user, EWS_PASSWORD: password, ...extra });

  it('an internal CA: refused without --ca-file (with a hint), trusted with it, also from EWS_CA_FILE', async () => {
    await withSim({ tls: { key: cert.key, cert: cert.cert } }, async (sim) => {
      assert.match(sim.url, /^https:/);
      const refused = await runCli(['check'], { env: env(sim.url, sim.credentials.user, sim.credentials.password) });
      assert.equal(refused.code, 1);
      assert.match(refused.stdout, /--ca-file/);
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(['--json', '--ca-file', join(dir, 'ca.pem'), '--max-events', '1', '--events', 'NewMail'], { env: env(sim.url, sim.credentials.user, sim.credentials.password) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseLines(r.stdout)[0]?.event, 'NewMail');
      const fromEnv = await runCli(['check'], { env: env(sim.url, sim.credentials.user, sim.credentials.password, { EWS_CA_FILE: join(dir, 'ca.pem') }) });
      assert.equal(fromEnv.code, 0, fromEnv.stdout + fromEnv.stderr);
    });
  });

  it('--insecure works and warns on every start', async () => {
    await withSim({ tls: { key: cert.key, cert: cert.cert } }, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(['--json', '--insecure', '--max-events', '1', '--events', 'NewMail'], { env: env(sim.url, sim.credentials.user, sim.credentials.password) });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^ews-watch: warning: --insecure: the server certificate is NOT verified/m);
      const c = await runCli(['check', '--insecure'], { env: env(sim.url, sim.credentials.user, sim.credentials.password) });
      assert.equal(c.code, 0);
      assert.match(c.stderr, /--insecure: the server certificate is NOT verified/);
    });
  });
});
