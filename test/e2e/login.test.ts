// End to end: `ews-watch login` stores the simulator's password, `ews-watch` then watches with no EWS_PASSWORD
// (the password comes from the store), `logout` removes it and watching exits 2 naming `ews-watch login`.
// Once with the private file (always), once with the real OS keychain (skips visibly where none answers).

import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it, type TestContext } from 'node:test';
import { loadKeyring } from '../../src/auth/credential-store-keychain.js';
import type { Simulator } from '../../src/simulator/types.js';
import { runCli } from '../support/cli.js';
import { keychainEnv, keychainRequired, keychainUnavailable, testService } from '../support/keychain.js';
import { parseLines, requestsOf, withSim } from './helpers.js';

const noPassword = /no password: set EWS_PASSWORD, pipe it with --password-stdin, store it with `ews-watch login`/;

function storeEnv(sim: Simulator, keychain: 'file' | 'keychain' | 'auto', extra: Record<string, string> = {}): Record<string, string> {
  const config = mkdtempSync(join(tmpdir(), 'ews-watch-login-'));
  return { EWS_URL: sim.url, EWS_AUTH: 'basic', EWS_USER: sim.credentials.user, EWS_KEYCHAIN: keychain, EWS_KEYCHAIN_SERVICE: testService(), XDG_CONFIG_HOME: config, ...extra };
}

/** login → watch (events, with the stored password) → logout → watch (exit 2); returns login's and logout's stderr. */
async function roundTrip(sim: Simulator, env: Record<string, string>): Promise<{ login: string; logout: string }> {
  const { password } = sim.credentials;
  const login = await runCli(['login', '--password-stdin'], { env, stdin: `${password}\n` });
  assert.equal(login.code, 0, login.stderr);
  assert.equal(login.stdout, '');
  assert.equal(login.stderr.includes(password), false);
  sim.script('GetStreamingEvents', [{ op: 'newMail', subject: 'Stored password works' }, { op: 'stall' }]);
  const watch = await runCli(['--json', '--max-events', '2'], { env });
  assert.equal(watch.code, 0, watch.stderr);
  assert.deepEqual(parseLines(watch.stdout).map((l) => l.event), ['Created', 'NewMail']);
  const basic = `Basic ${Buffer.from(`${sim.credentials.user}:${password}`).toString('base64')}`;
  assert.equal(requestsOf(sim, 'Subscribe')[0].headers.authorization, basic);
  const logout = await runCli(['logout'], { env });
  assert.equal(logout.code, 0, logout.stderr);
  const after = await runCli(['--json', '--max-events', '1'], { env });
  assert.equal(after.code, 2);
  assert.match(after.stderr, noPassword);
  assert.equal(after.stdout, '');
  assert.equal(requestsOf(sim, 'Subscribe').length, 1, 'no request without a password');
  const again = await runCli(['logout'], { env });
  assert.equal(again.code, 0);
  assert.match(again.stderr, /nothing to remove: no password for /);
  return { login: login.stderr, logout: logout.stderr };
}

describe('login and logout, end to end', { concurrency: 2 }, () => {
  it('with the private file: stored with mode 0600, used by watch, removed by logout', async () => {
    await withSim({}, async (sim) => {
      const env = storeEnv(sim, 'file');
      const path = join(env.XDG_CONFIG_HOME, 'ews-watch', 'credentials.json');
      const origin = new URL(sim.url).origin;
      const login = await runCli(['login', '--password-stdin'], { env, stdin: `${sim.credentials.password}\n` });
      assert.equal(login.code, 0, login.stderr);
      assert.equal(login.stderr, `ews-watch: password for ${sim.credentials.user} at ${origin} stored in ${path} (mode 0600)\n`);
      if (process.platform !== 'win32') assert.equal(statSync(path).mode & 0o777, 0o600);
      const saved = JSON.parse(readFileSync(path, 'utf8')) as { services: Record<string, Record<string, string>> };
      assert.deepEqual(saved.services[env.EWS_KEYCHAIN_SERVICE], { [`${origin} ${sim.credentials.user.toLowerCase()}`]: sim.credentials.password });
      const r = await roundTrip(sim, env);
      assert.equal(r.logout, `ews-watch: removed the password for ${sim.credentials.user} at ${origin} from ${path} (mode 0600)\n`);
      assert.equal(existsSync(path), false);
    });
  });

  it('auto with no keychain reachable falls back to the file and says why', { skip: process.platform !== 'linux' && 'Linux only: elsewhere the OS keychain always answers' }, async () => {
    await withSim({}, async (sim) => {
      // No DBUS_SESSION_BUS_ADDRESS reaches the child, so no Secret Service can answer it.
      const env = storeEnv(sim, 'auto');
      const r = await roundTrip(sim, env);
      assert.match(r.login, /stored in .*credentials\.json \(mode 0600\): no keychain answered \(.+\)\n$/);
    });
  });

  it('watch refuses a credentials file other users can read, without showing the secret', { skip: process.platform === 'win32' && 'POSIX modes' }, async () => {
    await withSim({}, async (sim) => {
      const env = storeEnv(sim, 'file');
      await runCli(['login', '--password-stdin'], { env, stdin: `${sim.credentials.password}\n` });
      chmodSync(join(env.XDG_CONFIG_HOME, 'ews-watch', 'credentials.json'), 0o644);
      const r = await runCli(['--json', '--max-events', '1'], { env });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /refusing to read the credentials file .*mode 0644.*chmod 600/);
      assert.equal(r.stderr.includes(sim.credentials.password), false);
      assert.equal(sim.requests.length, 0);
    });
  });

  describe('with the real OS keychain', () => {
    let unavailable: string | undefined;
    before(async () => {
      unavailable = await keychainUnavailable();
    });
    const ready = (t: TestContext): boolean => {
      if (unavailable === undefined) return true;
      if (keychainRequired) assert.fail(`.ci/run started a keyring, but ${unavailable}`);
      t.skip(`${unavailable}; skipped (.ci/run starts gnome-keyring in a D-Bus session for this)`);
      return false;
    };

    it('login stores in the keychain (nothing in the file), watch uses it, logout removes it', async (t) => {
      if (!ready(t)) return;
      await withSim({}, async (sim) => {
        const env = storeEnv(sim, 'keychain', keychainEnv());
        const service = env.EWS_KEYCHAIN_SERVICE;
        const account = `${new URL(sim.url).origin} ${sim.credentials.user.toLowerCase()}`;
        const mod = await loadKeyring();
        const entry = new mod.AsyncEntry(service, account, process.platform === 'linux' ? { linux: { store: 'secret-service' } } : undefined);
        try {
          const login = await runCli(['login', '--password-stdin'], { env, stdin: `${sim.credentials.password}\n` });
          assert.equal(login.code, 0, login.stderr);
          const { keychainName } = await import('../../src/auth/credential-store-keychain.js');
          assert.equal(login.stderr, `ews-watch: password for ${sim.credentials.user} at ${new URL(sim.url).origin} stored in ${keychainName()} (${service} / ${account})\n`);
          assert.equal(await entry.getPassword(), sim.credentials.password, 'the keychain itself holds the password');
          await entry.deletePassword();
          await entry.setPassword(sim.credentials.password);
          const r = await roundTrip(sim, env);
          assert.match(r.logout, new RegExp(`^ews-watch: removed the password for .* from ${keychainName()} \\(${service} / `));
          assert.equal(await entry.getPassword(), null, 'logout removed the keychain entry');
          assert.equal(existsSync(join(env.XDG_CONFIG_HOME, 'ews-watch')), false, 'the file store was never used');
        } finally {
          await entry.deletePassword().catch(() => undefined);
        }
      });
    });
  });
});
