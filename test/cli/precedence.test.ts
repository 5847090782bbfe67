// Where each setting comes from: a flag beats the environment, which beats .env, which beats the default; an empty
// variable counts as unset (README, "Options"). First the rule itself (src/cli/precedence.ts), then, for every
// variable the README lists, the configuration of each command that reads it (src/cli/command-config.ts) built
// from a real .env file, so a command that read a variable its own way would fail here.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { resolveCheckConfig, resolveCredentialConfig, resolveRunSettings, resolveWatchConfig, type CheckConfig, type CredentialConfig, type WatchConfig } from '../../src/cli/command-config.js';
import type { RawOptions } from '../../src/cli/config.js';
import { createLookup, type Setting } from '../../src/cli/precedence.js';
import { decideColourLevel } from '../../src/term/colour.js';
import { repoRoot } from '../support/cli.js';
import { createTestIo } from '../support/io-streams.js';

describe('the precedence rule', () => {
  const cases: Array<[string, string | undefined, string | undefined, string | undefined, Setting]> = [
    // name, flag, environment, .env → value and source
    ['flag beats both', 'f', 'e', 'd', { value: 'f', source: 'flag' }],
    ['environment beats .env', undefined, 'e', 'd', { value: 'e', source: 'env' }],
    ['.env alone', undefined, undefined, 'd', { value: 'd', source: '.env' }],
    ['nothing: the default applies', undefined, undefined, undefined, { value: undefined, source: 'default' }],
    ['an empty variable is unset: .env shows through', undefined, '', 'd', { value: 'd', source: '.env' }],
    ['empty in both: the default', undefined, '', '', { value: undefined, source: 'default' }],
    ['an empty line in .env is unset too', undefined, undefined, '', { value: undefined, source: 'default' }],
    ['an empty flag is given (a bad value, said so), not unset', '', 'e', 'd', { value: '', source: 'flag' }],
  ];
  for (const [name, flag, env, dotenv, expected] of cases) {
    it(name, () => {
      const vars = createLookup({ env: env === undefined ? {} : { EWS_X: env }, dotenv: dotenv === undefined ? {} : { EWS_X: dotenv } });
      assert.deepEqual(vars.pick(flag, 'EWS_X'), expected);
      if (flag === undefined) assert.deepEqual(vars.variable('EWS_X'), expected);
    });
  }

  it('names the layer a bad value came from', () => {
    const vars = createLookup({ env: {}, dotenv: {}, dotenvName: '/etc/ews.env' });
    assert.equal(vars.describe('flag', '--url', 'EWS_URL'), '--url');
    assert.equal(vars.describe('env', '--url', 'EWS_URL'), 'EWS_URL (from the environment)');
    assert.equal(vars.describe('.env', '--url', 'EWS_URL'), 'EWS_URL in /etc/ews.env');
    assert.equal(createLookup({ env: {}, dotenv: {} }).describe('.env', '--url', 'EWS_URL'), 'EWS_URL in ./.env');
  });
});

type Command = 'watch' | 'check' | 'login';

interface Row {
  name: string;
  /** The flag's key in the options, when there is one (--keychain is login's and logout's only). */
  flag?: keyof RawOptions | 'keychain';
  /** Three good values: for the flag, the environment and .env. */
  values: [string, string, string];
  /** What else must be set for the command to resolve (never the variable itself). */
  base?: Record<string, string>;
  /** The value each command resolved, by command. */
  read: Partial<Record<Command, (c: Resolved) => unknown>>;
  /** With no value anywhere: the default, or the error said. */
  fallback: unknown;
}

type Resolved = WatchConfig & CheckConfig & CredentialConfig;

const dir = mkdtempSync(join(tmpdir(), 'ews-watch-precedence-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const URL_BASE = { EWS_URL: 'https://mail.contoso.com/EWS/Exchange.asmx', EWS_USER: 'alice@contoso.com' };
const OAUTH_BASE = { EWS_AUTH: 'oauth', EWS_USER: 'alice@contoso.com', EWS_TENANT_ID: 'contoso.onmicrosoft.com', EWS_CLIENT_ID: '00000000-0000-0000-0000-000000000001' };
const url = (c: Resolved): string => (c.target?.kind === 'password' ? c.target.url.href : c.connection.url?.href ?? '');
const user = (c: Resolved): string | undefined => (c.target?.kind === 'password' ? c.target.user : c.connection.user);
const oauth = (c: Resolved): { tenant: string; clientId: string; authority?: string; clientCert?: string; app?: boolean } | undefined => (c.target?.kind === 'oauth' ? c.target.oauth : c.connection.oauth);

const rows: Row[] = [
  {
    name: 'EWS_URL',
    flag: 'url',
    values: ['https://flag.example/EWS/Exchange.asmx', 'https://env.example/EWS/Exchange.asmx', 'https://dotenv.example/EWS/Exchange.asmx'],
    // A DOMAIN\user: with an address, no URL means autodiscover (the next row).
    base: { EWS_USER: 'CONTOSO\\alice' },
    read: { watch: url, check: url, login: url },
    fallback: /no EWS URL|login needs the server/,
  },
  {
    name: 'EWS_AUTODISCOVER_ALLOW',
    flag: 'autodiscoverAllow',
    values: ['flag.example', 'env.example', 'dotenv.example'],
    base: { EWS_USER: 'alice@contoso.com' },
    read: { watch: (c) => c.connection.autodiscover?.allowedDomains.join(','), check: (c) => c.connection.autodiscover?.allowedDomains.join(',') },
    fallback: '',
  },
  { name: 'EWS_AUTH', flag: 'auth', values: ['basic', 'ntlm', 'token'], base: { ...URL_BASE }, read: { watch: (c) => c.connection.auth, check: (c) => c.connection.auth }, fallback: 'auto' },
  {
    name: 'EWS_USER',
    flag: 'user',
    values: ['flag@contoso.com', 'env@contoso.com', 'dotenv@contoso.com'],
    base: { EWS_URL: URL_BASE.EWS_URL },
    read: { watch: user, check: user, login: user },
    fallback: /no user name|login needs the user name/,
  },
  { name: 'EWS_PASSWORD', values: ['', 'env-secret', 'dotenv-secret'], base: URL_BASE, read: { watch: (c) => c.secrets.password.value, check: (c) => c.secrets.password.value }, fallback: undefined },
  { name: 'EWS_KEYCHAIN', flag: 'keychain', values: ['file', 'none', 'keychain'], base: URL_BASE, read: { watch: (c) => c.keychain.mode, check: (c) => c.keychain.mode, login: (c) => c.keychain.mode }, fallback: undefined },
  { name: 'EWS_KEYCHAIN_SERVICE', values: ['', 'env-service', 'dotenv-service'], base: URL_BASE, read: { watch: (c) => c.keychain.service, check: (c) => c.keychain.service, login: (c) => c.keychain.service }, fallback: undefined },
  { name: 'EWS_MAILBOX', flag: 'mailbox', values: ['flag@contoso.com', 'env@contoso.com', 'dotenv@contoso.com'], base: URL_BASE, read: { watch: (c) => c.connection.mailbox, check: (c) => c.connection.mailbox }, fallback: 'alice@contoso.com' },
  { name: 'EWS_ACCESS_TOKEN', values: ['', 'env-token', 'dotenv-token'], base: { ...URL_BASE, EWS_AUTH: 'token' }, read: { watch: (c) => c.secrets.accessToken.value, check: (c) => c.secrets.accessToken.value }, fallback: undefined },
  {
    name: 'EWS_TENANT_ID',
    flag: 'tenant',
    values: ['flag.onmicrosoft.com', 'env.onmicrosoft.com', 'dotenv.onmicrosoft.com'],
    base: { ...OAUTH_BASE, EWS_TENANT_ID: '' },
    read: { watch: (c) => oauth(c)?.tenant, check: (c) => oauth(c)?.tenant, login: (c) => oauth(c)?.tenant },
    fallback: /needs the Entra tenant|login --auth oauth needs --tenant/,
  },
  {
    name: 'EWS_CLIENT_ID',
    flag: 'clientId',
    values: ['11111111-0000-0000-0000-000000000001', '22222222-0000-0000-0000-000000000002', '33333333-0000-0000-0000-000000000003'],
    base: { ...OAUTH_BASE, EWS_CLIENT_ID: '' },
    read: { watch: (c) => oauth(c)?.clientId, check: (c) => oauth(c)?.clientId, login: (c) => oauth(c)?.clientId },
    fallback: /needs the app registration|login --auth oauth needs --tenant/,
  },
  { name: 'EWS_CLIENT_CERT', flag: 'clientCert', values: ['/flag/app.pem', '/env/app.pem', '/dotenv/app.pem'], base: { ...OAUTH_BASE, EWS_MAILBOX: 'shared@contoso.com' }, read: { watch: (c) => oauth(c)?.clientCert, check: (c) => oauth(c)?.clientCert }, fallback: undefined },
  {
    name: 'EWS_CLIENT_SECRET',
    values: ['', 'env-app-secret', 'dotenv-app-secret'],
    base: { ...OAUTH_BASE, EWS_MAILBOX: 'shared@contoso.com' },
    read: { watch: (c) => [c.secrets.clientSecret.value, oauth(c)?.app], check: (c) => [c.secrets.clientSecret.value, oauth(c)?.app] },
    fallback: [undefined, false],
  },
  {
    name: 'EWS_AUTHORITY',
    flag: 'authority',
    values: ['https://flag.example/t', 'https://env.example/t', 'https://dotenv.example/t'],
    base: OAUTH_BASE,
    read: { watch: (c) => oauth(c)?.authority, check: (c) => oauth(c)?.authority, login: (c) => oauth(c)?.authority },
    fallback: undefined,
  },
  { name: 'EWS_SERVER_VERSION', flag: 'serverVersion', values: ['Exchange2016', 'Exchange2013', 'Exchange2010_SP1'], base: URL_BASE, read: { watch: (c) => c.connection.serverVersion, check: (c) => c.connection.serverVersion }, fallback: 'Exchange2013_SP1' },
  { name: 'EWS_CA_FILE', flag: 'caFile', values: ['/flag/ca.pem', '/env/ca.pem', '/dotenv/ca.pem'], base: URL_BASE, read: { watch: (c) => c.connection.caFile, check: (c) => c.connection.caFile }, fallback: undefined },
  {
    name: 'EWS_MAILBOXES_FILE',
    flag: 'mailboxesFile',
    values: ['/flag/list.txt', '/env/list.txt', '/dotenv/list.txt'],
    base: URL_BASE,
    read: { watch: (c) => (c.mailboxes.kind === 'many' ? c.mailboxes.file?.path : c.mailboxes.kind) },
    fallback: 'one',
  },
  {
    name: 'EWS_SHARD',
    flag: 'shard',
    values: ['1/3', '2/3', '0/3'],
    base: { ...URL_BASE, EWS_MAILBOX: 'ann@contoso.com,bob@contoso.com' },
    read: { watch: (c) => (c.mailboxes.kind === 'many' && c.mailboxes.shard ? `${c.mailboxes.shard.index}/${c.mailboxes.shard.count}` : c.mailboxes.kind) },
    fallback: 'many',
  },
  { name: 'EWS_STATE_DIR', flag: 'stateDir', values: ['/flag/state', '/env/state', '/dotenv/state'], base: { ...URL_BASE, XDG_STATE_HOME: '/xdg' }, read: { watch: (c) => c.stateDir }, fallback: '/xdg/ews-watch' },
];

/** The value `command` resolves for `row`, given the flag, the environment and .env (undefined: not given). */
async function resolve(row: Row, command: Command, flag: string | undefined, env: string | undefined, dotenv: string | undefined): Promise<unknown> {
  const cwd = mkdtempSync(join(dir, 'case-'));
  const base = { ...row.base };
  // XDG_STATE_HOME is the environment's (the default's input), not a setting under test.
  const { XDG_STATE_HOME, ...fileBase } = base;
  const fileVars = { ...fileBase, ...(dotenv !== undefined ? { [row.name]: dotenv } : {}) };
  writeFileSync(join(cwd, '.env'), Object.entries(fileVars).map(([k, v]) => `${k}=${v}\n`).join(''), { mode: 0o600 });
  const opts = { ...(flag !== undefined && row.flag ? { [row.flag]: flag } : {}) } as RawOptions & { keychain?: string };
  const t = createTestIo([], { cwd, env: { ...(XDG_STATE_HOME ? { XDG_STATE_HOME } : {}), ...(env !== undefined ? { [row.name]: env } : {}) } });
  const warnings: string[] = [];
  const warn = (line: string): void => void warnings.push(line);
  let config: unknown;
  if (command === 'watch') config = resolveWatchConfig(opts, resolveRunSettings(opts, t.io), t.io, warn);
  else if (command === 'check') config = await resolveCheckConfig(opts, t.io, warn);
  else config = resolveCredentialConfig(opts, t.io, warn);
  assert.deepEqual(warnings, []);
  assert.ok(Object.isFrozen(config), 'the configuration is frozen');
  return (row.read[command] as (c: Resolved) => unknown)(config as Resolved);
}

async function resolveOrError(...args: Parameters<typeof resolve>): Promise<unknown> {
  try {
    return await resolve(...args);
  } catch (err) {
    return err as Error;
  }
}

describe('every variable of the README, in every command that reads it', () => {
  for (const row of rows) {
    for (const command of Object.keys(row.read) as Command[]) {
      it(`${row.name} (${command}): ${row.flag ? 'flag > ' : ''}environment > .env > default; empty means unset`, async () => {
        const [f, e, d] = row.values;
        const expect = async (flag: string | undefined, env: string | undefined, dotenv: string | undefined, want: unknown, what: string): Promise<void> => {
          const got = await resolveOrError(row, command, flag, env, dotenv);
          if (want instanceof RegExp) assert.ok(got instanceof Error && want.test(got.message), `${what}: ${String(got)}`);
          else assert.deepEqual(got, want, what);
        };
        const value = (v: string): unknown => (row.name === 'EWS_CLIENT_SECRET' ? [v, true] : row.name === 'EWS_URL' ? new URL(v).href : v);
        // Watching and check have no --keychain: only the variables.
        if (row.flag !== undefined && (row.flag !== 'keychain' || command === 'login')) await expect(f, e, d, value(f), 'the flag beats the environment and .env');
        await expect(undefined, e, d, value(e), 'the environment beats .env');
        await expect(undefined, undefined, d, value(d), '.env when the environment has nothing');
        await expect(undefined, '', d, value(d), 'an empty variable in the environment counts as unset');
        await expect(undefined, '', '', row.fallback, 'empty in both: the default');
        await expect(undefined, undefined, undefined, row.fallback, 'in neither: the default');
      });
    }
  }

  it('NO_COLOR and FORCE_COLOR come from the environment only (a .env holds ews-watch settings); an empty NO_COLOR is unset', () => {
    const cwd = mkdtempSync(join(dir, 'colour-'));
    writeFileSync(join(cwd, '.env'), 'NO_COLOR=1\nFORCE_COLOR=0\n', { mode: 0o600 });
    // The level of colour on a terminal stderr, as watching decides it (src/term/colour.ts) from what the config passed on.
    const level = (env: Record<string, string>): number => decideColourLevel('auto', true, resolveRunSettings({}, createTestIo([], { cwd, env }).io).terminal.colourEnv);
    assert.equal(level({}), 1, ".env's NO_COLOR and FORCE_COLOR are not read");
    assert.equal(level({ NO_COLOR: '' }), 1, 'an empty NO_COLOR is unset (no-color.org)');
    assert.equal(level({ NO_COLOR: '1' }), 0);
    assert.equal(level({ FORCE_COLOR: '0' }), 0);
    assert.equal(level({ TERM: 'xterm-256color' }), 2);
  });
});

describe('the environment is read in one place', () => {
  it('no file of src/cli but command-config.ts reads a variable (io-streams.ts hands process.env over; precedence.ts is the rule)', () => {
    const cli = join(repoRoot, 'src', 'cli');
    const files = readdirSync(cli, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    assert.ok(files.includes(join('commands', 'watch.ts')), files.join(' '));
    const readers = files.filter((f) => !['command-config.ts', 'io-streams.ts', 'precedence.ts'].includes(f)).filter((f) => {
      const code = readFileSync(join(cli, f), 'utf8').replace(/^\s*(\/\/|\*|\/\*\*).*$/gm, '');
      return /process\.env|\bio\.env\b|\benv\.[A-Z_]+|\benv\[/.test(code);
    });
    assert.deepEqual(readers, []);
  });
});
