// Each command's configuration, resolved once into one frozen object: the flags (config.ts), and the environment
// and .env through the one precedence rule (precedence.ts). The only code that reads the environment: commands
// read their config. Every problem is a UsageError, raised before any network I/O.

import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { UsageError } from '../errors.js';
import { checkHookPrograms, type ProbeResult } from '../hooks/find-program.js';
import { WRITE_RETRY_MS } from '../state/health.js';
import { defaultStateDir } from '../state/index.js';
import { DEFAULT_ANSWER_TIMEOUT_MS } from '../transport/http.js';
import type { LiveFlags, LiveSettings } from './check-live-command.js';
import { resolveConnection, resolveWatchSettings, type ConfiguredConnection, type RawOptions, type WatchSettings } from './config.js';
import { loadDotenv } from './dotenv.js';
import { resolveMailboxSelection, type MailboxSelection } from './mailbox-selection.js';
import type { IOStreams, TerminalConfig } from './io-streams.js';
import { createLookup, type Env, type Lookup, type Setting } from './precedence.js';
import type { CredentialOptions } from './program.js';

/** The secrets that come from variables only (never a flag: argv is visible to every user of the machine). */
export interface Secrets {
  readonly password: Setting;
  readonly accessToken: Setting;
  readonly clientSecret: Setting;
}

/** Where stored secrets live; the mode is checked when the store is opened (a run with EWS_PASSWORD never opens it). */
export interface KeychainConfig {
  /** --keychain (login, logout), else EWS_KEYCHAIN; undefined: auto. */
  readonly mode: string | undefined;
  /** How a bad mode is named: --keychain or EWS_KEYCHAIN. */
  readonly modeNamed: string;
  /** EWS_KEYCHAIN_SERVICE; undefined: ews-watch. */
  readonly service: string | undefined;
  /** XDG_CONFIG_HOME, APPDATA and HOME, where the credentials file lives. */
  readonly paths: Env;
}

/** Knobs for the tests (EWS_WATCH_*, not documented): shorter waits than real servers need. */
export interface Tuning {
  readonly answerTimeoutMs: number;
  readonly quietSyncMs: number;
  readonly syncPageSize: number;
  readonly stateRetryMs: number;
  /** EWS_WATCH_BACKOFF_PERCENT, 1..100: the watch's back-off waits last this share of what the policy decided. */
  readonly backoffPercent: number;
  /** EWS_WATCH_DNS: where autodiscover's host names resolve to in tests (src/cli/locate.ts). */
  readonly testDns?: string;
  /** EWS_WATCH_MAILBOX_RETRY_MS: how soon a mailbox of many that cannot be watched is tried again (default 15 min). */
  readonly mailboxRetryMs?: number;
}

/** Where and as whom to sign in: watching and `check`. */
export interface SignInConfig {
  /** Without a URL when autodiscover is to find it (src/cli/locate.ts). */
  readonly connection: ConfiguredConnection;
  readonly secrets: Secrets;
  readonly keychain: KeychainConfig;
  readonly tuning: Tuning;
}

/** What watching needs before it reads the environment for the connection: the flags, checked; the terminal. */
export interface RunSettings {
  readonly settings: WatchSettings;
  readonly terminal: TerminalConfig;
  /**
   * EWS_WATCH_KILL_AFTER_LINE (for the tests, not documented): SIGKILL itself once this many event lines are out,
   * before they are recorded as printed: the kill window of printed.ledger, made deterministic.
   */
  readonly killAfterLine?: number;
}

export interface WatchConfig extends SignInConfig, RunSettings {
  /** --state-dir, EWS_STATE_DIR, else $XDG_STATE_HOME/ews-watch: an absolute path. */
  readonly stateDir: string;
  /** The environment hooks inherit (the runner removes the secrets). */
  readonly hookEnv: Env;
  /** One mailbox (today's watch) or many (fleet-watch.ts): --mailbox, --mailboxes-file, --shard (mailbox-selection.ts). */
  readonly mailboxes: MailboxSelection;
}

export interface DemoConfig extends RunSettings {
  /** --state-dir; undefined: a temporary directory of the demo's own. */
  readonly stateDir: string | undefined;
  readonly tuning: Tuning;
  readonly hookEnv: Env;
  /** EWS_WATCH_DEMO_INTERVAL_MS (for the tests): how often mail arrives. */
  readonly intervalMs: number | undefined;
}

export interface CheckConfig extends SignInConfig {
  readonly live: LiveSettings | undefined;
  /** One mailbox (the table, --live) or many (fleet-check.ts: one line each). */
  readonly mailboxes: MailboxSelection;
  readonly settings: WatchSettings;
  readonly terminal: TerminalConfig;
}

export type CredentialTarget =
  | { kind: 'password'; url: URL; user: string }
  | { kind: 'oauth'; oauth: { tenant: string; clientId: string; authority?: string } };

export interface CredentialConfig {
  readonly target: CredentialTarget;
  readonly keychain: KeychainConfig;
  readonly passwordStdin: boolean;
}

type Warn = (line: string) => void;

/** The flags of watching (and the demo), the hook programs found, the terminal: usage errors before anything starts. */
export function resolveRunSettings(opts: RawOptions, io: IOStreams): RunSettings {
  const settings = resolveWatchSettings(opts, io.stdout.isTTY === true);
  // A hook program that is not there is a usage error now, not a warning on every event later.
  checkHookPrograms(settings.hooks, { path: io.env.PATH, cwd: io.cwd, probe: probeProgram });
  const killAfterLine = Number(io.env.EWS_WATCH_KILL_AFTER_LINE);
  return Object.freeze({ settings, terminal: resolveTerminal(io.env), ...(Number.isInteger(killAfterLine) && killAfterLine > 0 ? { killAfterLine } : {}) });
}

/** Watching: the connection and its secrets from flags, the environment and `.env` (its warnings to `warn`). */
export function resolveWatchConfig(opts: RawOptions & { envFile?: string }, run: RunSettings, io: IOStreams, warn: Warn): WatchConfig {
  const vars = lookupFor(opts.envFile, io, warn);
  const mailboxes = resolveMailboxSelection(mailboxFlagsOf(opts), vars);
  const one = mailboxes.kind === 'one' ? { ...opts, mailbox: mailboxes.mailbox } : opts;
  const signIn = resolveSignIn(one, vars, io.env, { many: mailboxes.kind === 'many' });
  return Object.freeze({ ...run, ...signIn, stateDir: resolveStateDir(run.settings.stateDir, vars), hookEnv: io.env, mailboxes });
}

/** The demo: its own server and credentials; no .env, and EWS_STATE_DIR does not move its throwaway state. */
export function resolveDemoConfig(run: RunSettings, io: IOStreams): DemoConfig {
  const vars = createLookup({ env: io.env, dotenv: {} });
  const interval = Number(vars.variable('EWS_WATCH_DEMO_INTERVAL_MS').value);
  return Object.freeze({
    ...run,
    stateDir: run.settings.stateDir === undefined ? undefined : resolvePath(run.settings.stateDir),
    tuning: resolveTuning(vars),
    hookEnv: io.env,
    intervalMs: Number.isInteger(interval) && interval >= 50 ? interval : undefined,
  });
}

/** `check` (and --live): the same connection as watching; the folders only as far as the subscription goes. */
export async function resolveCheckConfig(opts: RawOptions & LiveFlags & { envFile?: string }, io: IOStreams, warn: Warn): Promise<CheckConfig> {
  // Loaded only for `check`, as the rest of --live.
  const { resolveLiveSettings } = await import('./check-live-command.js');
  const live = resolveLiveSettings(opts, io.stdin.isTTY === true && io.stderr.isTTY === true);
  const settings = resolveWatchSettings({ ...opts, format: 'ndjson' }, false);
  const vars = lookupFor(opts.envFile, io, warn);
  const mailboxes = resolveMailboxSelection(mailboxFlagsOf(opts), vars);
  if (mailboxes.kind === 'many' && live) throw new UsageError('check --live tries one mailbox: pass one --mailbox (without --mailboxes-file or --shard)');
  const one = mailboxes.kind === 'one' ? { ...opts, mailbox: mailboxes.mailbox } : opts;
  const signIn = resolveSignIn(one, vars, io.env, { many: mailboxes.kind === 'many' });
  return Object.freeze({ live: live && Object.freeze(live), settings, ...signIn, terminal: resolveTerminal(io.env), mailboxes });
}

/** `login` / `logout`: the server and user (or the OAuth app) an entry is kept for, and the store. */
export function resolveCredentialConfig(opts: CredentialOptions, io: IOStreams, warn: Warn): CredentialConfig {
  const vars = lookupFor(opts.envFile, io, warn);
  return Object.freeze({ target: resolveTarget(opts, vars), keychain: resolveKeychain(opts.keychain, vars, io.env), passwordStdin: opts.passwordStdin === true });
}

/** --mailbox as commander gives it (`mailboxes`), or one `mailbox` from a caller that built the options itself. */
function mailboxFlagsOf(opts: RawOptions): RawOptions {
  return opts.mailboxes === undefined && opts.mailbox !== undefined ? { ...opts, mailboxes: [opts.mailbox] } : opts;
}

function lookupFor(envFile: string | undefined, io: IOStreams, warn: Warn): Lookup {
  const { vars, name } = loadDotenv(envFile, io.cwd, warn);
  return createLookup({ env: io.env, dotenv: vars, dotenvName: name });
}

function resolveSignIn(opts: RawOptions, vars: Lookup, env: Env, o: { many?: boolean } = {}): SignInConfig {
  const connection = resolveConnection(opts, vars, o);
  const secrets = Object.freeze({ password: vars.variable('EWS_PASSWORD'), accessToken: vars.variable('EWS_ACCESS_TOKEN'), clientSecret: vars.variable('EWS_CLIENT_SECRET') });
  return { connection, secrets, keychain: resolveKeychain(undefined, vars, env), tuning: resolveTuning(vars) };
}

export function resolveKeychain(flag: string | undefined, vars: Lookup, env: Env): KeychainConfig {
  return Object.freeze({
    mode: vars.pick(flag, 'EWS_KEYCHAIN').value,
    modeNamed: flag !== undefined ? '--keychain' : 'EWS_KEYCHAIN',
    service: vars.variable('EWS_KEYCHAIN_SERVICE').value,
    paths: Object.freeze({ XDG_CONFIG_HOME: env.XDG_CONFIG_HOME, APPDATA: env.APPDATA, HOME: env.HOME }),
  });
}

/** --state-dir, else EWS_STATE_DIR (an empty one is unset, not the current directory), else the XDG default. */
export function resolveStateDir(flag: string | undefined, vars: Lookup): string {
  const base = (name: string): string | undefined => vars.variable(name).value;
  const fallback = (): string => defaultStateDir({ XDG_STATE_HOME: base('XDG_STATE_HOME'), LOCALAPPDATA: base('LOCALAPPDATA'), HOME: base('HOME') });
  return resolvePath(vars.pick(flag, 'EWS_STATE_DIR').value ?? fallback());
}

export function resolveTuning(vars: Lookup): Tuning {
  const whole = (name: string, min: number, fallback: number): number => {
    const text = vars.variable(name).value;
    const n = Number(text);
    return text !== undefined && Number.isInteger(n) && n >= min ? n : fallback;
  };
  const retry = Number(vars.variable('EWS_WATCH_STATE_RETRY_MS').value);
  return Object.freeze({
    // How long an ordinary call may take to be answered whole: a test of a server that never answers need not wait two minutes.
    answerTimeoutMs: whole('EWS_WATCH_ANSWER_TIMEOUT_MS', 100, DEFAULT_ANSWER_TIMEOUT_MS),
    quietSyncMs: whole('EWS_WATCH_QUIET_SYNC_MS', 0, 10_000),
    syncPageSize: Math.min(512, Math.max(1, whole('EWS_WATCH_SYNC_PAGE_SIZE', 0, 100))),
    // How soon a refused write of the state is tried again.
    stateRetryMs: retry >= 10 ? retry : WRITE_RETRY_MS,
    // Tests whose point is what a failure prints, not how long the retry waits, need not wait out 1 s, 2 s, 4 s.
    backoffPercent: Math.min(100, whole('EWS_WATCH_BACKOFF_PERCENT', 1, 100)),
    ...(vars.variable('EWS_WATCH_DNS').value !== undefined ? { testDns: vars.variable('EWS_WATCH_DNS').value } : {}),
    // A test that grants a refused mailbox its rights again need not wait a quarter of an hour for the retry.
    ...(vars.variable('EWS_WATCH_MAILBOX_RETRY_MS').value !== undefined ? { mailboxRetryMs: whole('EWS_WATCH_MAILBOX_RETRY_MS', 100, 15 * 60_000) } : {}),
  });
}

export function resolveTerminal(env: Env): TerminalConfig {
  const { NO_COLOR, FORCE_COLOR, TERM, COLORTERM } = env;
  return Object.freeze({ statusAllowed: !env.CI && TERM !== 'dumb', colourEnv: Object.freeze({ NO_COLOR, FORCE_COLOR, TERM, COLORTERM }) });
}

/** login's server and user, or with --auth oauth the app; a bad value is blamed on where it came from, as watching does. */
function resolveTarget(opts: CredentialOptions, vars: Lookup): CredentialTarget {
  const pick = (flag: string | undefined, name: string): string | undefined => vars.pick(flag, name).value;
  const auth = (pick(opts.auth, 'EWS_AUTH') ?? 'auto').toLowerCase();
  if (auth === 'oauth') {
    const tenant = pick(opts.tenant, 'EWS_TENANT_ID');
    const clientId = pick(opts.clientId, 'EWS_CLIENT_ID');
    if (!tenant || !clientId) throw new UsageError('login --auth oauth needs --tenant (EWS_TENANT_ID) and --client-id (EWS_CLIENT_ID)');
    const authority = pick(opts.authority, 'EWS_AUTHORITY');
    return Object.freeze({ kind: 'oauth', oauth: Object.freeze({ tenant, clientId, ...(authority ? { authority } : {}) }) });
  }
  if (auth === 'token') throw new UsageError('--auth token takes a ready token from EWS_ACCESS_TOKEN; there is nothing to store with login');
  const urlSetting = vars.pick(opts.url, 'EWS_URL');
  const urlText = urlSetting.value;
  if (!urlText) throw new UsageError('login needs the server: pass --url https://mail.example.com/EWS/Exchange.asmx or set EWS_URL');
  const what = vars.describe(urlSetting.source, '--url', 'EWS_URL');
  let url: URL;
  try {
    url = new URL(urlText);
  } catch (err) {
    throw new UsageError(`${what} is not a URL: ${JSON.stringify(urlText)}`, { cause: err });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`${what} must be http or https, got ${url.protocol}`);
  const user = pick(opts.user, 'EWS_USER');
  if (!user) throw new UsageError('login needs the user name: pass --user alice@contoso.com (or CONTOSO\\alice) or set EWS_USER');
  return Object.freeze({ kind: 'password', url, user });
}

function probeProgram(path: string): ProbeResult {
  try {
    if (!statSync(path).isFile()) return 'missing';
    accessSync(path, fsConstants.X_OK);
    return 'ok';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EACCES' ? 'not-executable' : 'missing';
  }
}
