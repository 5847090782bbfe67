// Where settings come from, through the whole command in-process (test/support/io-streams.ts) against the
// simulator: --env-file and ./.env under the environment, an empty EWS_STATE_DIR, --password-stdin, .env lines
// that cannot be read and a .env other users can read, bad values blamed on their variable and file, and where
// `check` says a stored password came from. Moved from test/e2e/usability.test.ts ("variables and values") and
// test/e2e/watch.test.ts ("refusals, end to end"), with the same assertions.

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { envFor, parseLines, requestsOf, withSim } from '../e2e/helpers.js';
import { runInProcess } from '../support/io-streams.js';

const tempDir = (what: string): string => mkdtempSync(join(tmpdir(), `ews-watch-${what}-`));

describe('variables and values, in-process', { concurrency: 2 }, () => {
  it('EWS_STATE_DIR= (empty) means unset: the state goes to $XDG_STATE_HOME/ews-watch, not the current directory', async () => {
    await withSim({}, async (sim) => {
      const cwd = tempDir('cwd');
      const xdg = tempDir('xdg');
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runInProcess(['--json', '--events', 'NewMail', '--max-events', '1', '-v'], { cwd, env: envFor(sim, { EWS_STATE_DIR: '', XDG_STATE_HOME: xdg }) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseLines(r.stdout).length, 1);
      assert.match(r.stderr, new RegExp(`(^|\\n)ews-watch: state: ${xdg}/ews-watch/alice@contoso\\.com-[0-9a-f]+\\n`));
      assert.deepEqual(readdirSync(cwd), [], 'nothing in the current directory');
      assert.equal(readdirSync(join(xdg, 'ews-watch')).length, 1);
      rmSync(cwd, { recursive: true, force: true });
      rmSync(xdg, { recursive: true, force: true });
    });
  });

  it('an empty EWS_STATE_DIR in the environment lets the one in .env through, as for every other variable', async () => {
    await withSim({}, async (sim) => {
      const cwd = tempDir('cwd');
      const xdg = tempDir('xdg');
      const fromFile = tempDir('state');
      writeFileSync(join(cwd, '.env'), `EWS_STATE_DIR=${fromFile}\n`, { mode: 0o600 });
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runInProcess(['--json', '--events', 'NewMail', '--max-events', '1', '-v'], { cwd, env: envFor(sim, { EWS_STATE_DIR: '', XDG_STATE_HOME: xdg }) });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`(^|\\n)ews-watch: state: ${fromFile}/alice@contoso\\.com-[0-9a-f]+\\n`));
      assert.deepEqual(readdirSync(xdg), [], 'not the default');
      for (const d of [cwd, xdg, fromFile]) rmSync(d, { recursive: true, force: true });
    });
  });

  it('a bad value from the environment or .env names the variable and the file, not a flag that was never given', async () => {
    await withSim({}, async (sim) => {
      const fromEnv = await runInProcess(['--json'], { env: envFor(sim, { EWS_URL: 'mail.contoso.com' }) });
      assert.equal(fromEnv.code, 2);
      assert.equal(fromEnv.stdout, '');
      assert.equal(fromEnv.stderr, 'ews-watch: EWS_URL (from the environment) is not a URL: "mail.contoso.com" (expected e.g. https://mail.contoso.com/EWS/Exchange.asmx)\n');
      const cwd = tempDir('dotenv');
      writeFileSync(join(cwd, '.env'), 'EWS_AUTH=kerberos\n', { mode: 0o600 });
      const dotenv = await runInProcess(['--json'], { cwd, env: { EWS_URL: sim.url, EWS_USER: sim.credentials.user, EWS_PASSWORD: sim.credentials.password } });
      assert.equal(dotenv.code, 2);
      assert.equal(dotenv.stderr, 'ews-watch: EWS_AUTH in ./.env must be one of auto, basic, ntlm, oauth, token; got "kerberos"\n');
      const file = join(cwd, 'ews.env');
      writeFileSync(file, 'EWS_MAILBOX=alice\n', { mode: 0o600 });
      const envFile = await runInProcess(['--json', '--env-file', file], { env: envFor(sim) });
      assert.equal(envFile.code, 2);
      assert.equal(envFile.stderr, `ews-watch: EWS_MAILBOX in ${file} must be an SMTP address, got "alice"\n`);
      const flag = await runInProcess(['--json', '--url', 'mail.contoso.com'], { env: envFor(sim) });
      assert.equal(flag.code, 2);
      assert.match(flag.stderr, /^ews-watch: --url is not a URL: "mail\.contoso\.com"/);
      const login = await runInProcess(['login', '--password-stdin'], { env: { EWS_URL: 'mail.contoso.com', EWS_USER: 'alice@contoso.com', EWS_KEYCHAIN: 'file', XDG_CONFIG_HOME: cwd }, stdin: 'x\n' });
      assert.equal(login.code, 2);
      assert.equal(login.stderr, 'ews-watch: EWS_URL (from the environment) is not a URL: "mail.contoso.com"\n');
      const loginEnv = join(cwd, 'login.env');
      writeFileSync(loginEnv, 'EWS_URL=mail.contoso.com\n', { mode: 0o600 });
      const loginFile = await runInProcess(['login', '--password-stdin', '--env-file', loginEnv], { env: { EWS_URL: '', EWS_USER: 'alice@contoso.com', EWS_KEYCHAIN: 'file', XDG_CONFIG_HOME: cwd }, stdin: 'x\n' });
      assert.deepEqual([loginFile.code, loginFile.stdout, loginFile.stderr], [2, '', `ews-watch: EWS_URL in ${loginEnv} is not a URL: "mail.contoso.com"\n`]);
      assert.equal(sim.requests.length, 0);
      rmSync(cwd, { recursive: true, force: true });
    });
  });

  it('.env lines that cannot be read get a warning each, by line number and name, never with their value; the others are read', async () => {
    await withSim({}, async (sim) => {
      const cwd = tempDir('dotenv');
      const lines = [
        '# where to watch',
        `EWS_URL=${sim.url}`,
        'EWS_AUTH=basic',
        `EWS_USER=${sim.credentials.user}`,
        'hunter2-on-its-own',
        'EWS_MAILBOX: alice@contoso.com',
        'EWS_NOTE="spans',
        'two lines"',
        'EWS_PASSWORD="s3cret-typo',
      ];
      writeFileSync(join(cwd, '.env'), `${lines.join('\n')}\n`, { mode: 0o600 });
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runInProcess(['--json', '--events', 'NewMail', '--max-events', '1'], { cwd, env: { EWS_PASSWORD: sim.credentials.password } });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseLines(r.stdout).length, 1, 'the lines that could be read were used');
      assert.equal(
        r.stderr,
        [
          'ews-watch: warning: ./.env line 5 is not NAME=value; ignored',
          'ews-watch: warning: ./.env line 6 is not NAME=value; ignored',
          'ews-watch: warning: ./.env line 9: EWS_PASSWORD opens a quote that is never closed; ignored',
          '',
        ].join('\n'),
      );
      rmSync(cwd, { recursive: true, force: true });
    });
  });

  it('a .env holding EWS_PASSWORD that other users can read is used, with a warning to chmod 600 it', { skip: process.platform === 'win32' && 'POSIX modes' }, async () => {
    await withSim({}, async (sim) => {
      const cwd = tempDir('dotenv');
      const path = join(cwd, '.env');
      writeFileSync(path, Object.entries(envFor(sim)).map(([k, v]) => `${k}=${v}\n`).join(''));
      chmodSync(path, 0o644);
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'newMail' }, { op: 'stall' }]);
      const open = await runInProcess(['--json', '--events', 'NewMail', '--max-events', '1'], { cwd });
      assert.equal(open.code, 0, open.stderr);
      assert.equal(parseLines(open.stdout).length, 1);
      assert.equal(open.stderr, 'ews-watch: warning: ./.env holds EWS_PASSWORD and other users can read it (mode 0644); chmod 600 ./.env\n');
      chmodSync(path, 0o600);
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const closed = await runInProcess(['--json', '--events', 'NewMail', '--max-events', '1'], { cwd });
      assert.equal(closed.code, 0, closed.stderr);
      assert.equal(closed.stderr, '');
      rmSync(cwd, { recursive: true, force: true });
    });
  });

  it('check says a stored password came from the credentials file (not "keychain") when it did', async () => {
    await withSim({}, async (sim) => {
      const config = tempDir('config');
      const env = { EWS_URL: sim.url, EWS_AUTH: 'basic', EWS_USER: sim.credentials.user, EWS_KEYCHAIN: 'file', XDG_CONFIG_HOME: config };
      const login = await runInProcess(['login', '--password-stdin'], { env, stdin: `${sim.credentials.password}\n` });
      assert.equal(login.code, 0, login.stderr);
      const r = await runInProcess(['check'], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      const path = join(config, 'ews-watch', 'credentials.json');
      assert.match(r.stdout, new RegExp(`\\n  secret +password +\\(file ${path.replace(/[.]/g, '\\.')} \\(ews-watch login\\)\\)\\n`));
      assert.equal(r.stdout.includes(sim.credentials.password), false);
      rmSync(config, { recursive: true, force: true });
    });
  });
});

describe('.env, --env-file and standard input, in-process', { concurrency: 2 }, () => {
  it('--env-file supplies variables; the environment beats it', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const dir = tempDir('env');
      const file = join(dir, 'ews.env');
      writeFileSync(file, `# comment\nEWS_URL=${sim.url}\nEWS_USER=${sim.credentials.user}\nEWS_PASSWORD="${sim.credentials.password}"\nEWS_MAILBOX=wrong@example.com\n`);
      const r = await runInProcess(['--json', '--max-events', '1', '--env-file', file], { env: { EWS_MAILBOX: sim.mailboxAddress } });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseLines(r.stdout)[0].mailbox, sim.mailboxAddress);
      assert.equal(requestsOf(sim, 'Subscribe')[0].headers['x-anchormailbox'], sim.mailboxAddress);
      rmSync(dir, { recursive: true, force: true });
    });
  });

  it('a .env in the current directory is read', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const dir = tempDir('cwd');
      writeFileSync(join(dir, '.env'), `EWS_URL=${sim.url}\nEWS_USER=${sim.credentials.user}\nEWS_PASSWORD=${sim.credentials.password}\n`);
      const r = await runInProcess(['--json', '--max-events', '1'], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseLines(r.stdout).length, 1);
      rmSync(dir, { recursive: true, force: true });
    });
  });

  it('--password-stdin reads the password from standard input', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runInProcess(['--json', '--max-events', '1', '--password-stdin'], { env: envFor(sim, { EWS_PASSWORD: '' }), stdin: `${sim.credentials.password}\n` });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseLines(r.stdout).length, 1);
    });
  });
});
