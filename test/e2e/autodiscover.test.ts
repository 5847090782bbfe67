// `ews-watch --user alice@contoso.test` with no --url, end to end: the built CLI runs autodiscover against the
// simulator over real https (a throwaway CA trusted with EWS_CA_FILE; the certificate names the test domain), with
// contoso.test and autodiscover.contoso.test pointed at 127.0.0.1 by the undocumented EWS_WATCH_DNS. Each place
// Microsoft lists is found; the answer is cached and reused; a cached URL that fails is discovered again; a
// downgrade to http and a redirect to another domain are refused with one line and exit 2; --url always wins.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSimulator } from '../../src/simulator/index.js';
import type { Simulator, SimulatorOptions } from '../../src/simulator/types.js';
import { AUTODISCOVER_FILE_NAME } from '../../src/state/autodiscover-cache.js';
import { mailboxDirName } from '../../src/state/paths.js';
import { runCli, startCli } from '../support/cli.js';
import { makeTestCertificate, type TestCertificate } from '../support/tls.js';
import { parseLines } from './helpers.js';

const ADDRESS = 'alice@contoso.test';
const NAMES = ['contoso.test', 'autodiscover.contoso.test', 'ad.contoso.test', 'autodiscover.hoster.example'];

let cert: TestCertificate;
let dir: string;
before(() => {
  cert = makeTestCertificate('ews-watch autodiscover test CA', NAMES);
  dir = mkdtempSync(join(tmpdir(), 'ews-watch-autod-'));
  writeFileSync(join(dir, 'ca.pem'), cert.ca);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** An https simulator for alice@contoso.test answering autodiscover as `autodiscover` says; closed after `fn`. */
async function withHttpsSim<T>(autodiscover: SimulatorOptions['autodiscover'], fn: (sim: Simulator) => Promise<T>, tls = true): Promise<T> {
  const sim = await startSimulator({ heartbeatMs: 60_000, mailbox: ADDRESS, autodiscover, ...(tls ? { tls: { key: cert.key, cert: cert.cert } } : {}) });
  try {
    return await fn(sim);
  } finally {
    await sim.close();
  }
}

/** host:port → the simulator's port on 127.0.0.1, plus SRV answers; every other name is not found. */
const dns = (hosts: Record<string, Simulator>, srv: Record<string, unknown> = {}): string =>
  JSON.stringify({ hosts: Object.fromEntries(Object.entries(hosts).map(([k, s]) => [k, `127.0.0.1:${s.port}`])), srv });

function envFor(sim: Simulator, dnsText: string, extra: Record<string, string> = {}): Record<string, string> {
  return { EWS_USER: ADDRESS, EWS_PASSWORD: sim.credentials.password, EWS_AUTH: 'basic', EWS_CA_FILE: join(dir, 'ca.pem'), EWS_WATCH_DNS: dnsText, ...extra };
}

const autodiscoverRequests = (sim: Simulator): { host: string; method: string; path: string; authorization?: string }[] =>
  sim.requests.filter((r) => r.path.toLowerCase().startsWith('/autodiscover/')).map((r) => ({ host: r.headers.host ?? '', method: r.method, path: r.path, ...(r.headers.authorization ? { authorization: r.headers.authorization } : {}) }));

describe('autodiscover, end to end', { concurrency: 2 }, () => {
  it('--user alice@contoso.test, no --url: found by SOAP at https://contoso.test, watched, a mail printed; the next start uses the cache', async () => {
    await withHttpsSim({ hosts: { 'contoso.test': { soap: 'settings' } } }, async (sim) => {
      const stateDir = mkdtempSync(join(tmpdir(), 'ews-watch-autod-state-'));
      try {
        const env = envFor(sim, dns({ 'contoso.test:443': sim }), { EWS_STATE_DIR: stateDir });
        const run = startCli(['--json', '--events', 'NewMail', '--max-events', '1', '-v'], { env });
        await sim.waitFor(() => sim.connections().length > 0, 20_000);
        sim.deliverMail({ subject: 'found you' });
        const r = await run.result();
        assert.equal(r.code, 0, r.stderr);
        const lines = parseLines(r.stdout);
        assert.deepEqual(lines.map((l) => [l.event, l.mailbox]), [['NewMail', ADDRESS]]);
        assert.match(r.stderr, new RegExp(`^ews-watch: autodiscover: SOAP https://contoso\\.test/autodiscover/autodiscover\\.svc: EWS URL ${sim.url.replace(/\./g, '\\.')} \\(GroupingInformation Default-First-Site-Name\\)$`, 'm'));
        assert.ok(!r.stderr.includes(sim.credentials.password), 'the password never reaches stderr');
        assert.deepEqual(autodiscoverRequests(sim).map((q) => `${q.method} ${q.host} ${q.path}`), ['POST contoso.test /autodiscover/autodiscover.svc']);
        const cached = JSON.parse(readFileSync(join(stateDir, mailboxDirName(ADDRESS), AUTODISCOVER_FILE_NAME), 'utf8')) as Record<string, string>;
        assert.equal(cached.ewsUrl, sim.url);

        const before = autodiscoverRequests(sim).length;
        const streams = sim.connections().length;
        const again = startCli(['--json', '--events', 'NewMail', '--max-events', '1', '-v'], { env });
        await sim.waitFor(() => sim.connections().length > streams, 20_000);
        sim.deliverMail({ subject: 'again' });
        const r2 = await again.result();
        assert.equal(r2.code, 0, r2.stderr);
        assert.equal(parseLines(r2.stdout)[0]?.event, 'NewMail');
        assert.match(r2.stderr, /autodiscover: using the URL found at \S+ \(SOAP https:\/\/contoso\.test\/autodiscover\/autodiscover\.svc\)/);
        assert.equal(autodiscoverRequests(sim).length, before, 'no autodiscover request when the cache answers');
      } finally {
        rmSync(stateDir, { recursive: true, force: true });
      }
    });
  });

  it('a cached URL that no longer answers is discovered again, once, and the cache replaced', async () => {
    await withHttpsSim({ hosts: { 'contoso.test': { soap: 'settings' } } }, async (sim) => {
      const stateDir = mkdtempSync(join(tmpdir(), 'ews-watch-autod-state-'));
      try {
        const mailboxDir = join(stateDir, mailboxDirName(ADDRESS));
        mkdirSync(mailboxDir, { recursive: true, mode: 0o700 });
        const dead = 'https://127.0.0.1:1/EWS/Exchange.asmx';
        writeFileSync(join(mailboxDir, AUTODISCOVER_FILE_NAME), JSON.stringify({ version: 1, address: ADDRESS, ewsUrl: dead, via: 'SOAP https://contoso.test/autodiscover/autodiscover.svc', foundAt: new Date().toISOString() }), { mode: 0o600 });
        const run = startCli(['--json', '--events', 'NewMail', '--max-events', '1', '-v'], { env: envFor(sim, dns({ 'contoso.test:443': sim }), { EWS_STATE_DIR: stateDir }) });
        await sim.waitFor(() => sim.connections().length > 0, 20_000);
        sim.deliverMail({ subject: 'moved' });
        const r = await run.result();
        assert.equal(r.code, 0, r.stderr);
        assert.equal(parseLines(r.stdout)[0]?.event, 'NewMail');
        assert.match(r.stderr, /autodiscover: the cached URL https:\/\/127\.0\.0\.1:1\/EWS\/Exchange\.asmx failed \(.*connection refused\); discovering again/);
        assert.equal(autodiscoverRequests(sim).length, 1);
        assert.equal((JSON.parse(readFileSync(join(mailboxDir, AUTODISCOVER_FILE_NAME), 'utf8')) as { ewsUrl: string }).ewsUrl, sim.url);
      } finally {
        rmSync(stateDir, { recursive: true, force: true });
      }
    });
  });

  it('POX at https://<domain> when its SOAP endpoint is absent (check shows where the URL came from)', async () => {
    await withHttpsSim({ hosts: { 'contoso.test': { pox: 'settings' } } }, async (sim) => {
      const r = await runCli(['check', '-v'], { env: envFor(sim, dns({ 'contoso.test:443': sim })) });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^ews-watch: autodiscover: SOAP https:\/\/contoso\.test\/autodiscover\/autodiscover\.svc: HTTP 404$/m);
      assert.match(r.stderr, /^ews-watch: autodiscover: POX https:\/\/contoso\.test\/autodiscover\/autodiscover\.xml: EWS URL https:\/\/127\.0\.0\.1:\d+\/EWS\/Exchange\.asmx/m);
      assert.match(r.stdout, new RegExp(`url\\s+${sim.url.replace(/\./g, '\\.')}\\s+\\(autodiscover`));
    });
  });

  it('signs in to autodiscover as to EWS: --auth auto picks NTLM from the 401 there too, and -v shows no credential', async () => {
    await withHttpsSim({ hosts: { 'contoso.test': { soap: 'settings' } } }, async (sim) => {
      const env = envFor(sim, dns({ 'contoso.test:443': sim }));
      delete env.EWS_AUTH;
      const r = await runCli(['check', '-v'], { env });
      assert.equal(r.code, 0, r.stderr);
      const asked = autodiscoverRequests(sim);
      assert.deepEqual(asked.map((q) => (q.authorization ?? 'none').split(' ')[0]), ['none', 'NTLM', 'NTLM']);
      assert.ok(sim.ntlm.logins.length >= 1);
      assert.ok(!r.stderr.includes(sim.credentials.password));
      assert.match(r.stderr, /autodiscover: SOAP https:\/\/contoso\.test\/autodiscover\/autodiscover\.svc: EWS URL /);
    });
  });

  it('autodiscover.<domain> when <domain> has no server at all', async () => {
    await withHttpsSim({ hosts: { 'autodiscover.contoso.test': { soap: 'settings' } } }, async (sim) => {
      const r = await runCli(['check', '-v'], { env: envFor(sim, dns({ 'autodiscover.contoso.test:443': sim })) });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /autodiscover: SOAP https:\/\/contoso\.test\/autodiscover\/autodiscover\.svc: .*host not found/);
      assert.match(r.stderr, /autodiscover: SOAP https:\/\/autodiscover\.contoso\.test\/autodiscover\/autodiscover\.svc: EWS URL /);
    });
  });

  it('the plain-http redirect: a GET without credentials to http://autodiscover.<domain>, then its https Location', async () => {
    await withHttpsSim({ hosts: { 'ad.contoso.test': { soap: 'settings' } } }, async (sim) => {
      await withHttpsSim(
        { hosts: { 'autodiscover.contoso.test': { httpRedirect: 'https://ad.contoso.test/autodiscover/autodiscover.svc' } } },
        async (plain) => {
          const r = await runCli(['check', '-v'], { env: envFor(sim, dns({ 'autodiscover.contoso.test:80': plain, 'ad.contoso.test:443': sim })) });
          assert.equal(r.code, 0, r.stderr);
          assert.match(r.stderr, /autodiscover: GET http:\/\/autodiscover\.contoso\.test\/autodiscover\/autodiscover\.xml: redirected to https:\/\/ad\.contoso\.test\/autodiscover\/autodiscover\.svc/);
          assert.deepEqual(autodiscoverRequests(plain), [{ host: 'autodiscover.contoso.test', method: 'GET', path: '/autodiscover/autodiscover.xml' }], 'only the GET, and no credentials, over plain http');
          assert.equal(autodiscoverRequests(sim).length, 1);
        },
        false,
      );
    });
  });

  it('the SRV record _autodiscover._tcp.<domain>', async () => {
    await withHttpsSim({ hosts: { 'ad.contoso.test': { soap: 'settings' } } }, async (sim) => {
      const srv = { '_autodiscover._tcp.contoso.test': [{ name: 'ad.contoso.test', port: 443, priority: 0, weight: 0 }] };
      const r = await runCli(['check', '-v'], { env: envFor(sim, dns({ 'ad.contoso.test:443': sim }, srv)) });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /autodiscover: SRV _autodiscover\._tcp\.contoso\.test: ad\.contoso\.test:443/);
      assert.match(r.stderr, /autodiscover: SOAP https:\/\/ad\.contoso\.test\/autodiscover\/autodiscover\.svc: EWS URL /);
    });
  });

  it('https → http: a redirect to plain http is refused; nothing reaches the http server; exit 2 with one line', async () => {
    await withHttpsSim({ hosts: { 'contoso.test': { soap: { status: 302, location: 'http://contoso.test/autodiscover/autodiscover.svc' } } } }, async (sim) => {
      await withHttpsSim(
        { hosts: { 'contoso.test': { soap: 'settings', pox: 'settings' } } },
        async (plain) => {
          const r = await runCli(['--json'], { env: envFor(sim, dns({ 'contoso.test:443': sim, 'contoso.test:80': plain })) });
          assert.equal(r.code, 2);
          assert.equal(r.stdout, '');
          assert.match(
            r.stderr,
            /^ews-watch: autodiscover found no EWS URL for alice@contoso\.test \(6 places tried, -v lists them; among them SOAP https:\/\/contoso\.test\/autodiscover\/autodiscover\.svc: refused the redirect to http:\/\/contoso\.test\/autodiscover\/autodiscover\.svc: plain http would carry the credentials unencrypted\); pass --url https:\/\/<server>\/EWS\/Exchange\.asmx or set EWS_URL\n$/,
          );
          assert.deepEqual(plain.requests, []);
        },
        false,
      );
    });
  });

  it('a redirect to another domain: refused with its name (exit 2) and nothing sent there; followed with --autodiscover-allow', async () => {
    const target = 'https://autodiscover.hoster.example/autodiscover/autodiscover.svc';
    await withHttpsSim({ hosts: { 'contoso.test': { soap: { redirectUrl: target } }, 'autodiscover.hoster.example': { soap: 'settings' } } }, async (sim) => {
      const env = envFor(sim, dns({ 'contoso.test:443': sim, 'autodiscover.hoster.example:443': sim }));
      const r = await runCli(['--json'], { env });
      assert.equal(r.code, 2);
      assert.equal(
        r.stderr,
        'ews-watch: autodiscover: SOAP https://contoso.test/autodiscover/autodiscover.svc redirects to autodiscover.hoster.example, outside contoso.test; not sending your credentials there. Pass --url https://<server>/EWS/Exchange.asmx, or allow it with --autodiscover-allow hoster.example\n',
      );
      assert.deepEqual(autodiscoverRequests(sim).map((q) => q.host), ['contoso.test']);
      const allowed = await runCli(['check', '--autodiscover-allow', 'hoster.example'], { env });
      assert.equal(allowed.code, 0, allowed.stderr);
      assert.ok(autodiscoverRequests(sim).some((q) => q.host === 'autodiscover.hoster.example'));
    });
  });

  it('--since now keeps nothing on disk: the answer is not cached, the state directory not even made', async () => {
    await withHttpsSim({ hosts: { 'contoso.test': { soap: 'settings' } } }, async (sim) => {
      const parent = mkdtempSync(join(tmpdir(), 'ews-watch-autod-state-'));
      try {
        const stateDir = join(parent, 'state');
        const run = startCli(['--json', '--events', 'NewMail', '--max-events', '1', '--since', 'now'], { env: envFor(sim, dns({ 'contoso.test:443': sim }), { EWS_STATE_DIR: stateDir }) });
        await sim.waitFor(() => sim.connections().length > 0, 20_000);
        sim.deliverMail({ subject: 'now' });
        const r = await run.result();
        assert.equal(r.code, 0, r.stderr);
        assert.equal(parseLines(r.stdout)[0]?.event, 'NewMail');
        assert.equal(r.stderr, '');
        assert.equal(autodiscoverRequests(sim).length, 1);
        assert.deepEqual(readdirSync(parent), []);
      } finally {
        rmSync(parent, { recursive: true, force: true });
      }
    });
  });

  it('--url always wins: no autodiscover request at all', async () => {
    await withHttpsSim({}, async (sim) => {
      const r = await runCli(['check'], { env: envFor(sim, dns({ 'contoso.test:443': sim }), { EWS_URL: sim.url }) });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(autodiscoverRequests(sim), []);
    });
  });
});
