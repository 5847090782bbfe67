// Composition root: the only place that builds real dependencies (undici transport, system clock, stdout sinks,
// the simulator for `demo`), handles signals and EPIPE, and maps the outcome to an exit code.

import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { Chalk } from 'chalk';
import { CommanderError } from 'commander';
import { createBasicAuth } from '../auth/basic.js';
import { createTokenAuth } from '../auth/token.js';
import type { AuthProvider } from '../auth/types.js';
import { UsageError, describeError } from '../errors.js';
import { createNdjsonSink } from '../output/ndjson.js';
import { createPrettySink } from '../output/pretty.js';
import type { EventSink } from '../output/types.js';
import { decideColourLevel } from '../term/colour.js';
import { createLogger, type Logger } from '../term/logger.js';
import { createStatusLine, type StatusLine } from '../term/spinner.js';
import { createEwsClient } from '../transport/ews-client.js';
import { createEwsHttp, type EwsHttp } from '../transport/http.js';
import type { ServerVersionInfo } from '../ews/types.js';
import type { WatchClient } from '../watch/client.js';
import { systemClock } from '../watch/clock.js';
import { runWatch } from '../watch/engine.js';
import { resolveConnection, resolveWatchSettings, type ConnectionSettings, type Env, type RawOptions, type WatchSettings } from './config.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { buildProgram, type CredentialOptions } from './program.js';
import { promptPassword, readPasswordFromStdin } from './secrets.js';
import { createStatusReporter } from './status.js';

export interface Io {
  argv: string[];
  env: Env;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  cwd: string;
}

const VERSION = readVersion();

export default async function main(io: Io = processIo()): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(
    {
      watch: async (opts) => {
        code = await runCommand(io, opts, async (settings, logger, status, sink, signal) => {
          const dotenv = loadDotenv(opts.envFile, io.cwd);
          const conn = resolveConnection(opts, io.env, dotenv);
          const auth = await resolveAuth(conn, io, dotenv);
          return watchWith(conn, auth, settings, logger, status, sink, signal);
        });
      },
      demo: async (opts) => {
        code = await runCommand(io, opts, async (settings, logger, status, sink, signal) => {
          const { startSimulator } = await import('../simulator/index.js');
          const sim = await startSimulator({ demo: true });
          try {
            logger.info(`demo: simulated Exchange at ${sim.url}; new mail arrives every few seconds (Ctrl-C to stop)`);
            const conn: ConnectionSettings = {
              url: new URL(sim.url),
              auth: 'basic',
              user: sim.credentials.user,
              mailbox: sim.mailboxAddress,
              serverVersion: 'Exchange2013_SP1',
              passwordStdin: false,
              sources: {},
            };
            return await watchWith(conn, createBasicAuth(sim.credentials.user, sim.credentials.password), settings, logger, status, sink, signal);
          } finally {
            await sim.close();
          }
        });
      },
      login: async (opts) => {
        code = await runCredentialCommand(io, opts, 'login');
      },
      logout: async (opts) => {
        code = await runCredentialCommand(io, opts, 'logout');
      },
      check: async (opts) => {
        code = await runCheckCommand(io, opts);
      },
    },
    VERSION,
  );
  program.exitOverride();
  program.configureOutput({
    writeOut: (s) => void io.stdout.write(s),
    writeErr: (s) => void io.stderr.write(s),
    outputError: (s, write) => write(`ews-watch: ${s.replace(/^error: /, '')}`),
  });
  for (const sub of program.commands) sub.exitOverride();
  try {
    await program.parseAsync(io.argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    io.stderr.write(`ews-watch: ${describeError(err)}\n`);
    return exitCodeFor(err);
  }
  return code;
}

type Body = (settings: WatchSettings, logger: Logger, status: StatusLine, sink: EventSink, signal: AbortSignal) => Promise<number>;

/** Settings, terminal, signals and EPIPE around one watching command; returns its exit code. */
async function runCommand(io: Io, opts: RawOptions, body: Body): Promise<number> {
  let settings: WatchSettings;
  try {
    settings = resolveWatchSettings(opts, io.stdout.isTTY === true);
  } catch (err) {
    io.stderr.write(`ews-watch: ${describeError(err)}\n`);
    return exitCodeFor(err);
  }
  const stop = new AbortController();
  let stdoutClosed = false;
  const spinnerOn = io.stderr.isTTY === true && !io.env.CI && settings.verbosity >= 0;
  const status = createStatusLine(io.stderr, spinnerOn, () => Date.now());
  const logger = createLogger((t) => status.write(t), settings.verbosity);
  const writeLine = (line: string): void => {
    if (!stdoutClosed) io.stdout.write(line);
  };
  const sink = buildSink(settings, io, writeLine);
  const onStdoutError = (err: NodeJS.ErrnoException): void => {
    // The reader went away (`| head -1`): that is a normal way to stop, and nothing is said about it.
    stdoutClosed = true;
    if (err.code !== 'EPIPE') logger.error(`cannot write to standard output: ${err.message}`);
    stop.abort('stdout-closed');
  };
  io.stdout.on('error', onStdoutError);
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupts += 1;
    if (interrupts > 1 && sig === 'SIGINT') {
      status.stop();
      process.exit(EXIT.interrupted);
    }
    logger.debug(`${sig}: stopping (Unsubscribe, then exit; Ctrl-C again to force)`);
    stop.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await body(settings, logger, status, sink, stop.signal);
  } catch (err) {
    status.stop();
    if (stdoutClosed) return EXIT.ok;
    logger.error(describeError(err));
    if (settings.verbosity >= 1 && err instanceof Error && err.stack) logger.debug(err.stack);
    return exitCodeFor(err);
  } finally {
    status.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function watchWith(
  conn: ConnectionSettings,
  auth: AuthProvider,
  settings: WatchSettings,
  logger: Logger,
  status: StatusLine,
  sink: EventSink,
  signal: AbortSignal,
): Promise<number> {
  const { http, client } = createClientFor(conn, auth, settings, logger);
  try {
    const result = await runWatch(
      {
        client,
        clock: systemClock,
        random: Math.random,
        sink,
        mailbox: conn.mailbox,
        connectionTimeoutMinutes: settings.connectionTimeoutMinutes,
        heartbeatTimeoutMs: settings.heartbeatTimeoutMs,
        maxEvents: settings.maxEvents,
        onStatus: createStatusReporter({ logger, status, folderLabel: settings.folderLabel, mailbox: conn.mailbox, heartbeatTimeoutMs: settings.heartbeatTimeoutMs, now: () => Date.now() }),
      },
      signal,
    );
    logger.debug(`stopped: ${result.reason}`);
    return EXIT.ok;
  } finally {
    await http.close();
  }
}

/** The HTTP transport and the EWS client for one run, shared by watching and `check`. */
function createClientFor(
  conn: ConnectionSettings,
  auth: AuthProvider,
  settings: Pick<WatchSettings, 'folders' | 'events' | 'heartbeatTimeoutMs'>,
  logger: Logger,
  onServerVersion?: (v: ServerVersionInfo) => void,
): { http: EwsHttp; client: WatchClient } {
  for (const s of auth.secrets) logger.addSecret(s);
  const http = createEwsHttp({ url: conn.url, auth, anchorMailbox: conn.mailbox, logger, now: () => Date.now() });
  const client = createEwsClient({
    http,
    ctx: { serverVersion: conn.serverVersion, ...(conn.impersonate ? { impersonate: conn.impersonate } : {}) },
    auth,
    folders: settings.folders,
    events: settings.events,
    user: conn.user ?? conn.mailbox,
    streamIdleMs: settings.heartbeatTimeoutMs + 30_000,
    onServerVersion: (v) => {
      logger.debug(`server version ${v.majorVersion}.${v.minorVersion}.${v.majorBuildNumber}.${v.minorBuildNumber} (${v.version ?? '?'})`);
      onServerVersion?.(v);
    },
  });
  return { http, client };
}

function buildSink(settings: WatchSettings, io: Io, writeLine: (l: string) => void): EventSink {
  if (settings.format === 'ndjson') return createNdjsonSink(writeLine);
  const tty = io.stdout.isTTY === true;
  const level = decideColourLevel(settings.colour, tty, io.env);
  return createPrettySink(writeLine, { chalk: new Chalk({ level }), tty });
}

async function resolveAuth(conn: ConnectionSettings, io: Io, dotenv: Env, passwordFrom?: (source: string) => void): Promise<AuthProvider> {
  const fromEnv = (name: string): string | undefined => (io.env[name] !== undefined && io.env[name] !== '' ? io.env[name] : dotenv[name] || undefined);
  if (conn.auth === 'oauth' && conn.oauth) {
    const { createOAuthForCli } = await import('../auth/oauth-setup.js');
    // A person's token cache (from `ews-watch login --auth oauth`) is in the credential store; an app needs none.
    const store = conn.oauth.app ? undefined : (await (await import('./login.js')).openStoreFor(undefined, io.env, dotenv))?.store;
    return createOAuthForCli(conn.oauth, { secret: fromEnv('EWS_CLIENT_SECRET'), username: conn.user ?? conn.mailbox, ...(store ? { store } : {}) });
  }
  if (conn.auth === 'token') {
    const token = fromEnv('EWS_ACCESS_TOKEN');
    if (!token) throw new UsageError('--auth token needs a bearer token in EWS_ACCESS_TOKEN');
    return createTokenAuth(token);
  }
  const user = conn.user as string;
  let password = fromEnv('EWS_PASSWORD');
  let source = io.env.EWS_PASSWORD ? 'env' : '.env';
  if (password === undefined && conn.passwordStdin) [password, source] = [await readPasswordFromStdin(io.stdin), 'standard input'];
  // The keychain step: loaded only here, so --help, --version and EWS_PASSWORD runs never touch native code.
  if (password === undefined) [password, source] = [await (await import('./login.js')).findStoredPassword(conn.url, user, io.env, dotenv), 'keychain (ews-watch login)'];
  if (password === undefined && io.stdin.isTTY && io.stderr.isTTY) [password, source] = [await promptPassword(io.stdin, io.stderr, `Password for ${user}: `), 'prompt'];
  if (password === undefined) {
    throw new UsageError('no password: set EWS_PASSWORD, pipe it with --password-stdin, store it with `ews-watch login`, or run ews-watch on a terminal to be asked');
  }
  passwordFrom?.(source);
  return createBasicAuth(user, password);
}

/** `check` (src/cli/check.ts): the same configuration and sign-in as watching, then one Subscribe + Unsubscribe. */
async function runCheckCommand(io: Io, opts: RawOptions & { envFile?: string }): Promise<number> {
  const logger = createLogger((t) => void io.stderr.write(t), opts.verbose ? 1 : 0);
  try {
    const settings = resolveWatchSettings({ ...opts, format: 'ndjson' }, false);
    const dotenv = loadDotenv(opts.envFile, io.cwd);
    const conn = resolveConnection(opts, io.env, dotenv);
    const secretSource = describeSecretSource(conn, io, dotenv);
    const auth = await resolveAuth(conn, io, dotenv, (source) => (secretSource.source = source));
    let version: ServerVersionInfo | undefined;
    const { http, client } = createClientFor(conn, auth, settings, logger, (v) => (version = v));
    const { runCheck } = await import('./check.js');
    const src = (key: string): string => conn.sources[key] ?? 'default';
    try {
      return await runCheck({
        client,
        write: (line) => void io.stdout.write(line),
        now: () => Date.now(),
        folderLabel: settings.folderLabel,
        scheme: () => auth.scheme,
        serverVersion: () => version,
        configuration: [
          { name: 'url', value: conn.url.href, source: src('url') },
          { name: 'auth', value: conn.auth, source: src('auth') },
          ...(conn.user ? [{ name: 'user', value: conn.user, source: src('user') }] : []),
          { name: 'mailbox', value: conn.mailbox, source: conn.sources.mailbox === 'default' ? 'default: the user' : src('mailbox') },
          { name: 'secret', value: secretSource.what, source: secretSource.source },
          { name: 'version', value: conn.serverVersion, source: src('serverVersion') },
          { name: 'folders', value: settings.folderLabel },
        ],
      });
    } finally {
      await http.close();
    }
  } catch (err) {
    logger.error(describeError(err));
    return exitCodeFor(err);
  }
}

/** Where the secret for this run comes from, for `check`'s table (a password's source is filled in by resolveAuth). */
function describeSecretSource(conn: ConnectionSettings, io: Io, dotenv: Env): { what: string; source: string } {
  const from = (name: string): string | undefined => (io.env[name] ? 'env' : dotenv[name] ? '.env' : undefined);
  if (conn.auth === 'token') return { what: 'bearer token', source: from('EWS_ACCESS_TOKEN') ?? 'missing' };
  if (conn.auth === 'oauth') return { what: 'OAuth token', source: from('EWS_CLIENT_SECRET') ? `client secret (${from('EWS_CLIENT_SECRET')})` : 'token cache or certificate' };
  return { what: 'password', source: 'unknown' };
}

/** `login` / `logout` (src/cli/login.ts, loaded only for them); errors reach main's one-line report. */
async function runCredentialCommand(io: Io, opts: CredentialOptions, which: 'login' | 'logout'): Promise<number> {
  const dotenv = loadDotenv(opts.envFile, io.cwd);
  const { runLogin, runLogout } = await import('./login.js');
  const loginIo = { env: io.env, dotenv, stdin: io.stdin, stderr: io.stderr };
  return which === 'login' ? runLogin(opts, loginIo) : runLogout(opts, loginIo);
}

function loadDotenv(envFile: string | undefined, cwd: string): Env {
  const path = envFile ?? `${cwd}/.env`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (envFile === undefined && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UsageError(`cannot read ${envFile ? `--env-file ${envFile}` : path}: ${(err as Error).message}`, { cause: err });
  }
  return parseEnv(text) as Env;
}

function processIo(): Io {
  return { argv: process.argv.slice(2), env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() };
}

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return '0.0.0';
  }
}
