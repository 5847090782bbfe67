// Usage errors, in-process (test/support/io-streams.ts): the whole command line as a person types it, parsed and
// configured by main() with a test double for the terminal, against a simulator (or identity platform) that must
// see no request. Each asserts the exit code, stdout and stderr, as the spawned tests these came from did; the exit
// code reaching the shell is shown end to end once in test/e2e/watch.test.ts ("an unknown flag exits 2").

import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { envFor, withSim } from '../e2e/helpers.js';
import { startFakeIdentity } from '../support/fake-identity.js';
import { runInProcess } from '../support/io-streams.js';
import { testService } from '../support/keychain.js';
import { makeTestCertificate, type TestCertificate } from '../support/tls.js';

/** One line on stderr and nothing on stdout: the shape of every usage error. */
function oneLine(r: { stdout: string; stderr: string }): void {
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
}

// From test/e2e/hooks.test.ts "usage error before any request: …" and "a hook program that is not executable …".
describe('hooks: usage errors before any request', { concurrency: 2 }, () => {
  for (const [args, message] of [
    [['--on', 'NewMail'], /^ews-watch: --on NewMail must be followed by --exec <program> \[args…\]\n$/],
    [['--exec'], /^ews-watch: --exec needs a program to run, e.g. --exec notify-send "New mail"\n$/],
    [['--debounce', '500'], /^ews-watch: --debounce applies to hooks: add --exec <program> \[args…\]\n$/],
    [['--events', 'NewMail', '--on', 'Deleted', '--exec', 'true'], /^ews-watch: --on Deleted: that event is not watched \(--events NewMail\)\n$/],
    [['--on', 'Sent', '--exec', 'true'], /^ews-watch: --on: unknown event "Sent"; use NewMail, /],
    [['--exec=notify-send'], /^ews-watch: --exec takes the program and its arguments as separate words/],
    // Checked before subscribing, not warned about on every event.
    [['--exec', '/nonexistent/prog'], /^ews-watch: --exec: cannot find program \/nonexistent\/prog\n$/],
    [['--on', 'NewMail', '--exec', 'true', ';', '--exec', 'no-such-program-ews-watch', 'x'], /^ews-watch: --exec: cannot find program no-such-program-ews-watch on PATH\n$/],
    [['--exec', './no/such/hook.sh'], /^ews-watch: --exec: cannot find program \.\/no\/such\/hook\.sh\n$/],
  ] as const) {
    it(`usage error before any request: ${args.join(' ')}`, async () => {
      await withSim({}, async (sim) => {
        const r = await runInProcess([...args], { env: envFor(sim) });
        assert.equal(r.code, 2);
        assert.match(r.stderr, message);
        oneLine(r);
        assert.equal(sim.requests.length, 0);
      });
    });
  }

  it('a hook program that is not executable exits 2 before any request, saying how to fix it', async () => {
    await withSim({}, async (sim) => {
      const dir = mkdtempSync(join(tmpdir(), 'ews-watch-hook-'));
      const script = join(dir, 'notify.sh');
      writeFileSync(script, '#!/bin/sh\n');
      chmodSync(script, 0o644);
      const r = await runInProcess(['--json', '--exec', script], { env: envFor(sim) });
      rmSync(dir, { recursive: true, force: true });
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `ews-watch: --exec: ${script} is not executable (chmod +x ${script})\n`);
      assert.equal(sim.requests.length, 0);
    });
  });
});

// From test/e2e/filters.test.ts "usage error before any request: …".
describe('filters and one-shot waits: usage errors before any request', { concurrency: 2 }, () => {
  for (const [args, message] of [
    [['--from', '/(unclosed/'], /^ews-watch: --from \/\(unclosed\/ is not a valid regular expression: .+\n$/],
    [['--subject', '/x/g'], /^ews-watch: --subject \/x\/g: the regular expression flag g cannot be used here \(use i, m, s, u or v\)\n$/],
    [['--timeout', 'soon'], /^ews-watch: --timeout must be a duration such as 90s, 2m or 1h, got "soon"\n$/],
    [['--timeout', '0s'], /^ews-watch: --timeout must be from 1ms to /],
    [['--since', 'yesterday'], /^ews-watch: --since must be now \(only what happens from the start of this run\), got "yesterday"\n$/],
    [['--since', 'now', '--backfill'], /^ews-watch: --since now and --backfill contradict each other: /],
    [['--since', 'Now', '--state-dir', '/tmp'], /^ews-watch: --since now keeps its sync state in memory and uses no state directory: leave out --state-dir\n$/],
  ] as const) {
    it(`usage error before any request: ${args.join(' ')}`, async () => {
      await withSim({}, async (sim) => {
        const r = await runInProcess([...args, '--json'], { env: envFor(sim) });
        assert.equal(r.code, 2);
        assert.match(r.stderr, message);
        assert.equal(r.stderr.split('\n').length, 2, 'one line');
        assert.equal(r.stdout, '');
        assert.equal(sim.requests.length, 0);
      });
    });
  }
});

// From test/e2e/watch.test.ts "usage error: … → exit 2, one line, no request".
describe('refusals of watching', { concurrency: 2 }, () => {
  const usage: [string, string[], Record<string, string>, RegExp][] = [
    ['--connection-timeout 31', ['--connection-timeout', '31'], {}, /--connection-timeout must be from 1 to 30, got 31/],
    ['no URL', [], { EWS_URL: '' }, /no EWS URL/],
    ['no password off a terminal', [], { EWS_PASSWORD: '' }, /no password: set EWS_PASSWORD/],
    ['an unknown event', ['--events', 'NewMail,Arrived'], {}, /unknown event "Arrived"/],
    ['--auth token without a token', ['--auth', 'token'], {}, /EWS_ACCESS_TOKEN/],
  ];
  for (const [name, args, env, pattern] of usage) {
    it(`usage error: ${name} → exit 2, one line, no request`, async () => {
      await withSim({}, async (sim) => {
        const r = await runInProcess(args, { env: { ...envFor(sim), ...env } });
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, pattern);
        oneLine(r);
        assert.equal(sim.requests.length, 0);
      });
    });
  }

  // From test/e2e/usability.test.ts "a bad number says what it takes: demo …".
  for (const [args, message] of [
    [['--max-events', '-1'], 'ews-watch: --max-events must be a whole number, 1 or more, got -1\n'],
    [['--max-events', '0'], 'ews-watch: --max-events must be 1 or more, got 0\n'],
    [['--debounce', '-1', '--exec', 'true'], 'ews-watch: --debounce takes milliseconds (e.g. 2000) or a duration (500ms, 2s), from 0ms to 10m; got "-1"\n'],
  ] as const) {
    it(`a bad number says what it takes: demo ${args.join(' ')}`, async () => {
      const r = await runInProcess(['demo', ...args]);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, message);
    });
  }
});

// From test/e2e/check.test.ts "a configuration error exits 2 before any request" and test/e2e/check-live.test.ts
// "no terminal to ask and no --yes: …".
describe('refusals of check', { concurrency: 2 }, () => {
  it('a configuration error exits 2 before any request', async () => {
    await withSim({}, async (sim) => {
      const r = await runInProcess(['check', '--connection-timeout', '5'], { env: envFor(sim) });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /unknown option '--connection-timeout'/);
      oneLine(r);
      assert.equal(sim.requests.length, 0);
    });
  });

  it('--live with no terminal to ask and no --yes: one usage line, exit 2, nothing sent; other misuses of the flags too', async () => {
    await withSim({}, async (sim) => {
      const r = await runInProcess(['check', '--live'], { env: envFor(sim) });
      assert.deepEqual(r, {
        code: 2,
        stdout: '',
        stderr: 'ews-watch: check --live writes to the mailbox (a scratch folder and a draft, deleted afterwards): pass --yes, or run it on a terminal to be asked\n',
      });
      const misuses: Array<[string[], string]> = [
        [['--yes'], '--yes goes with --live (it answers the question --live asks before writing)'],
        [['--live', '--yes', '--folder', 'inbox'], '--live watches a scratch folder of its own: leave out --folder, --all-folders and --events'],
        [['--live', '--yes', '--live-minutes', '31'], "--live-minutes must be a whole number of minutes from 1 to 30, got '31'"],
        [['--live-minutes', '5'], '--live-minutes goes with --live'],
      ];
      for (const [args, message] of misuses) {
        const m = await runInProcess(['check', ...args], { env: envFor(sim) });
        assert.deepEqual([m.code, m.stdout, m.stderr], [2, '', `ews-watch: ${message}\n`], args.join(' '));
      }
      assert.equal(sim.requests.length, 0);
    });
  });

  it('--live on a terminal asks, so it needs no --yes: it goes as far as signing in', async () => {
    await withSim({}, async (sim) => {
      // Stdin and stderr terminals: asking is possible. Standard input ends at once, which answers "no".
      const r = await runInProcess(['check', '--live'], { env: envFor(sim, { EWS_PASSWORD: 'wrong' }), tty: { stdin: true, stderr: true } });
      assert.equal(r.code, 4, r.stderr);
      assert.doesNotMatch(r.stderr, /pass --yes/);
      assert.ok(sim.requests.length > 0);
    });
  });
});

// From test/e2e/auth.test.ts "a --ca-file that is missing or holds no certificate is a usage error before any request".
describe('TLS: a bad --ca-file', () => {
  let cert: TestCertificate;
  let dir: string;
  before(() => {
    cert = makeTestCertificate();
    dir = mkdtempSync(join(tmpdir(), 'ews-watch-tls-'));
    writeFileSync(join(dir, 'not-a-cert.pem'), 'hello\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a --ca-file that is missing or holds no certificate is a usage error before any request', async () => {
    await withSim({ tls: { key: cert.key, cert: cert.cert } }, async (sim) => {
      const env = { EWS_URL: sim.url, EWS_USER: sim.credentials.user, EWS_PASSWORD: sim.credentials.password };
      const missing = await runInProcess(['--json', '--ca-file', join(dir, 'nope.pem')], { env });
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /cannot read --ca-file .*nope\.pem: ENOENT/);
      oneLine(missing);
      const junk = await runInProcess(['--json', '--ca-file', join(dir, 'not-a-cert.pem')], { env });
      assert.equal(junk.code, 2);
      assert.match(junk.stderr, /holds no PEM certificate/);
      oneLine(junk);
      assert.equal(sim.requests.length, 0);
    });
  });
});

// From test/e2e/oauth.test.ts "usage errors before any network I/O: …".
describe('OAuth: usage errors before any network I/O', () => {
  it('no tenant, an app without --mailbox, oauth over plain http', async () => {
    const idp = await startFakeIdentity();
    try {
      const base = { EWS_AUTH: 'oauth', EWS_CLIENT_ID: idp.clientId, EWS_AUTHORITY: idp.authority, NODE_EXTRA_CA_CERTS: idp.caFile };
      let r = await runInProcess(['--json'], { env: { ...base, EWS_USER: 'alice@contoso.com' } });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--auth oauth needs the Entra tenant: pass --tenant/);
      oneLine(r);
      r = await runInProcess(['--json', '--tenant', idp.tenant], { env: { ...base, EWS_CLIENT_SECRET: 's' } });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /pass --mailbox/);
      oneLine(r);
      r = await runInProcess(['--json', '--tenant', idp.tenant, '--url', 'http://mail.contoso.com/EWS/Exchange.asmx'], { env: { ...base, EWS_USER: 'alice@contoso.com' } });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /refusing to send an OAuth token over plain http/);
      oneLine(r);
      assert.equal(idp.requests.length, 0);
    } finally {
      await idp.close();
    }
  });
});

// From test/e2e/login.test.ts "usage errors: no password source for login, --keychain none, a bad --keychain".
describe('login and logout: usage errors', () => {
  it('no password source for login, --keychain none, a bad --keychain, no server; nothing stored', async () => {
    await withSim({}, async (sim) => {
      const config = mkdtempSync(join(tmpdir(), 'ews-watch-login-'));
      const env = { EWS_URL: sim.url, EWS_AUTH: 'basic', EWS_USER: sim.credentials.user, EWS_KEYCHAIN: 'file', EWS_KEYCHAIN_SERVICE: testService(), XDG_CONFIG_HOME: config };
      const noTty = await runInProcess(['login'], { env, stdin: '' });
      assert.equal(noTty.code, 2);
      assert.match(noTty.stderr, /login needs the password: run it on a terminal to be asked, or pipe it with --password-stdin/);
      oneLine(noTty);
      const none = await runInProcess(['login', '--password-stdin', '--keychain', 'none'], { env, stdin: 'x\n' });
      assert.equal(none.code, 2);
      assert.match(none.stderr, /--keychain none .* turns the credential store off/);
      oneLine(none);
      const bad = await runInProcess(['logout', '--keychain', 'kwallet'], { env });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--keychain must be one of auto, keychain, file, none/);
      oneLine(bad);
      const noUrl = await runInProcess(['login', '--password-stdin'], { env: { ...env, EWS_URL: '' }, stdin: 'x\n' });
      assert.equal(noUrl.code, 2);
      assert.match(noUrl.stderr, /login needs the server: pass --url/);
      oneLine(noUrl);
      assert.equal(existsSync(join(config, 'ews-watch')), false, 'nothing stored');
      assert.equal(sim.requests.length, 0);
      rmSync(config, { recursive: true, force: true });
    });
  });
});

