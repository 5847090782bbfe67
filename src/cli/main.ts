// Composition root: the only place that builds real dependencies (undici transport, system clock, stdout sinks,
// the simulator for `demo`), handles signals and EPIPE, and maps the outcome to an exit code.

import { X509Certificate } from 'node:crypto';
import { accessSync, constants as fsConstants, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { Chalk } from 'chalk';
import { CommanderError, type Command } from 'commander';
import { createAutoAuth } from '../auth/auto.js';
import { createBasicAuth } from '../auth/basic.js';
import { createNtlmAuth } from '../auth/ntlm.js';
import { createTokenAuth } from '../auth/token.js';
import { findMailbox, type FoundMailbox } from '../auth/find-mailbox.js';
import { createCatchUp, type CatchUp, type WatchedFolder } from '../catchup/catchup.js';
import { createLedger, type Ledger } from '../catchup/ledger.js';
import { createMemoryStateStore, defaultStateDir, openStateStore, type StateStore } from '../state/index.js';
import { createWriteHealth, WRITE_RETRY_MS, type WriteHealth } from '../state/health.js';
import { LEDGER_FILE_NAME } from '../state/paths.js';
import type { AuthProvider } from '../auth/types.js';
import { UsageError, describeError } from '../errors.js';
import { createNdjsonSink } from '../output/ndjson.js';
import { cleanLines } from '../base/sanitize.js';
import { createPrettySink } from '../output/pretty.js';
import type { EventSink, WatchedEvent } from '../base/event.js';
import { decideColourLevel } from '../term/colour.js';
import { createLogger, type Logger } from '../term/logger.js';
import { foldWarnings } from '../term/repeats.js';
import { redactCredentialsIn } from '../term/redact.js';
import { createStatusLine, type StatusLine } from '../term/spinner.js';
import { createEwsClient } from '../transport/ews-client.js';
import { DEFAULT_ANSWER_TIMEOUT_MS, createEwsHttp, type EwsHttp, type TlsOptions } from '../transport/http.js';
import { describeVersion } from './server-version.js';
import type { ServerVersionInfo } from '../ews/types.js';
import type { WatchClient } from '../ews/client.js';
import { systemClock } from '../base/clock.js';
import { runWatch } from '../watch/engine.js';
import { resolveConnection, resolveWatchSettings, type ConnectionSettings, type Env, type MailboxConnection, type RawOptions, type WatchSettings } from './config.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { buildProgram, type CredentialOptions } from './program.js';
import { PromptInterrupted, promptPassword, readPasswordFromStdin } from './secrets.js';
import { catchSignals, type Interrupts } from './signals.js';
import { guardStdout, type StdoutGuard } from './stdout.js';
import { createStatusReporter } from './status.js';
import { splitHookArgs, type RawHook } from './hook-args.js';
import { createPipeline } from './pipeline.js';
import type { LiveFlags } from './check-live-command.js';
import { loadDotenv } from './dotenv.js';
import { checkHookPrograms, type ProbeResult } from '../hooks/find-program.js';
import type { MailboxWriter } from '../ews/writes.js';
import type { EnrichClient, IdentityClient, SyncClient } from '../ews/client.js';

export interface Io {
  argv: string[];
  env: Env;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  cwd: string;
}

const VERSION = readVersion();

/** `interrupts`: bin/ews-watch.js catches signals before it loads this module (see signals.ts). */
export default async function main(io: Io = processIo(), interrupts: Interrupts = catchSignals()): Promise<number> {
  // One place for standard output's failures, whatever the command: said once, at the end (stdout.ts).
  const out = guardStdout(io.stdout, io.stderr);
  try {
    return await out.settle(await runProgram(io, interrupts, out));
  } finally {
    interrupts.dispose();
  }
}

async function runProgram(io: Io, interrupts: Interrupts, out: StdoutGuard): Promise<number> {
  let code: number = EXIT.ok;
  let hooks: RawHook[] = [];
  const program = buildProgram(
    {
      watch: async (opts) => {
        code = await runCommand(io, { ...opts, hooks }, interrupts, out, async (settings, logger, status, sink, signal) => {
          const { vars: dotenv, name: dotenvName } = loadDotenv(opts.envFile, io.cwd, (line) => logger.warn(line));
          const conn = resolveConnection(opts, io.env, dotenv, dotenvName);
          // The status line draws nothing before its first set(), which comes once signed in: a password prompt
          // is never overdrawn.
          const auth = await resolveAuth(conn, io, dotenv, undefined, signal);
          return watchWith(conn, auth, settings, logger, status, sink, signal, { ...dotenv, ...io.env }, io.env, out);
        });
      },
      demo: async (opts) => {
        code = await runCommand(io, { ...opts, hooks }, interrupts, out, async (settings, logger, status, sink, signal) => {
          const { startSimulator } = await import('../simulator/index.js');
          // EWS_WATCH_DEMO_INTERVAL_MS (not documented; for the tests): how often mail arrives.
          const interval = Number(io.env.EWS_WATCH_DEMO_INTERVAL_MS);
          const sim = await startSimulator({ demo: Number.isInteger(interval) && interval >= 50 ? { intervalMs: interval } : true });
          const stateDir = mkdtempSync(join(tmpdir(), 'ews-watch-demo-'));
          try {
            // Two short lines: one long one wrapped mid-word on a 120-column terminal.
            logger.info(`demo: simulated Exchange at ${sim.url}`);
            logger.info('demo: new mail arrives every few seconds; Ctrl-C stops');
            // Asked for (or -v): how to reach it from another terminal. Written as is: the logger would redact the password.
            if (opts.printCredentials || settings.verbosity >= 1) status.write(demoCredentials(sim.url, sim.credentials));
            const conn: ConnectionSettings = {
              url: new URL(sim.url),
              auth: 'basic',
              user: sim.credentials.user,
              mailbox: sim.mailboxAddress,
              serverVersion: 'Exchange2013_SP1',
              passwordStdin: false,
              sources: {},
              insecure: false,
            };
            // The demo's mailbox lives only as long as the demo: so does its sync state.
            const env = { ...io.env, EWS_STATE_DIR: stateDir };
            return await watchWith(conn, createBasicAuth(sim.credentials.user, sim.credentials.password), settings, logger, status, sink, signal, env, io.env, out);
          } finally {
            await sim.close();
            rmSync(stateDir, { recursive: true, force: true });
          }
        });
      },
      // No orderly stop to make in these: a signal ends them as it ends any program.
      login: async (opts) => {
        interrupts.handOver();
        code = await runCredentialCommand(io, opts, 'login');
      },
      logout: async (opts) => {
        interrupts.handOver();
        code = await runCredentialCommand(io, opts, 'logout');
      },
      check: async (opts) => {
        // --live writes to the mailbox: a signal stops it in order, so that it cleans up (check-live.ts).
        if (!opts.live) interrupts.handOver();
        code = await runCheckCommand(io, opts, interrupts);
      },
    },
    VERSION,
  );
  program.exitOverride();
  const output = {
    writeOut: (s: string) => void io.stdout.write(s),
    writeErr: (s: string) => void io.stderr.write(s),
    // One line, as every other error: commander's "\n(Did you mean --json?)" joins it.
    outputError: (s: string, write: (s: string) => void) => write(`ews-watch: ${s.replace(/^error: /, '').replace(/\n\(Did you mean (.+)\)\n$/, ' (did you mean $1)\n')}`),
  };
  program.configureOutput(output);
  // Subcommands added with addCommand() inherit none of this: without it `demo --bogus` lost the prefix.
  for (const sub of program.commands) sub.exitOverride().configureOutput(output);
  try {
    const split = splitHookArgs(io.argv, valueFlagsOf(program));
    hooks = split.hooks;
    await program.parseAsync(split.argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    io.stderr.write(`ews-watch: ${cleanLines(redactCredentialsIn(describeError(err)))}\n`);
    return exitCodeFor(err);
  }
  return code;
}

/** The long options that take a value, on the program and its subcommands (so hook-args skips their values). */
function valueFlagsOf(program: Command): Set<string> {
  const flags = new Set<string>();
  for (const cmd of [program, ...program.commands]) {
    for (const opt of cmd.options) if ((opt.required || opt.optional) && opt.long) flags.add(opt.long);
  }
  return flags;
}

type Body = (settings: WatchSettings, logger: Logger, status: StatusLine, sink: EventSink, signal: AbortSignal) => Promise<number>;

/** The status line only on a terminal that shows it: stdout and stderr both TTYs (else it freezes among the data). */
function statusLineWanted(io: Io, settings: WatchSettings): boolean {
  return io.stdout.isTTY === true && io.stderr.isTTY === true && !io.env.CI && io.env.TERM !== 'dumb' && settings.verbosity >= 0;
}

/** Settings, terminal, signals and stdout failures around one watching command; returns its exit code. */
async function runCommand(io: Io, opts: RawOptions, interrupts: Interrupts, out: StdoutGuard, body: Body): Promise<number> {
  let settings: WatchSettings;
  try {
    settings = resolveWatchSettings(opts, io.stdout.isTTY === true);
    // A hook program that is not there is a usage error now, not a warning on every event later.
    checkHookPrograms(settings.hooks, { path: io.env.PATH, cwd: io.cwd, probe: probeProgram });
  } catch (err) {
    io.stderr.write(`ews-watch: ${cleanLines(describeError(err))}\n`);
    return exitCodeFor(err);
  }
  const stop = new AbortController();
  const colour = decideColourLevel(settings.colour, io.stderr.isTTY === true, io.env) > 0;
  const status = createStatusLine(io.stderr, { enabled: statusLineWanted(io, settings), clock: systemClock, colour });
  // A storm of alike warnings (a server refusing every few seconds for an hour) folds into a line a minute.
  const logger = foldWarnings(createLogger((t) => status.write(t), settings.verbosity), systemClock);
  // Events on a terminal share the screen with the status line, which steps aside for each line.
  const sink = buildSink(settings, io, (line) => status.beside(() => out.writeLine(line)));
  // The reader went away (`| head -1`) or the disk is full: stop; main says which (nothing for a closed pipe).
  const offStdout = out.onFailure(() => stop.abort('stdout-closed'));
  const onInterrupt = (): void => stop.abort(interrupts.signal.reason);
  if (interrupts.signal.aborted) onInterrupt();
  else interrupts.signal.addEventListener('abort', onInterrupt, { once: true });
  interrupts.attach({ write: (t) => status.write(t), verbose: settings.verbosity >= 1, beforeExit: () => status.stop() });
  try {
    // Stopped while the program was still loading: nothing was started, so nothing is left to undo.
    if (stop.signal.aborted) return EXIT.ok;
    return await body(settings, logger, status, sink, stop.signal);
  } catch (err) {
    logger.flush();
    status.stop();
    // main says what happened to standard output, once, and whether it is an error (a closed pipe is not).
    if (out.failure) return EXIT.ok;
    if (err instanceof PromptInterrupted && stop.signal.aborted) return EXIT.ok;
    logger.error(describeError(err));
    if (settings.verbosity >= 1 && err instanceof Error && err.stack) logger.debug(err.stack);
    return exitCodeFor(err);
  } finally {
    // The summaries of warnings still folded are printed, and no fold timer holds the exit.
    logger.flush();
    status.stop();
    offStdout();
    interrupts.signal.removeEventListener('abort', onInterrupt);
    interrupts.dispose();
  }
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

async function watchWith(
  given: ConnectionSettings,
  auth: AuthProvider,
  settings: WatchSettings,
  logger: Logger,
  status: StatusLine,
  sink: EventSink,
  signal: AbortSignal,
  env: Env,
  hookEnv: Env,
  out: StdoutGuard,
): Promise<number> {
  const answerTimeoutMs = answerTimeoutFrom(env);
  const connected = await connectMailbox(given, auth, settings, logger, signal, answerTimeoutMs);
  if (!connected) return EXIT.ok; // stopped (a signal, stdout closed) while finding the mailbox
  const { http, client, conn } = connected;
  const report = createStatusReporter({ logger, status, folderLabel: settings.folderLabel, mailbox: conn.mailbox, heartbeatTimeoutMs: settings.heartbeatTimeoutMs, now: () => Date.now() });
  const pipeline = createPipeline({
    settings,
    client,
    mailbox: conn.mailbox,
    sink,
    clock: systemClock,
    logger,
    writeErr: (text) => status.write(text),
    hookEnv: hookEnv as NodeJS.ProcessEnv,
    signal,
    // The status line counts printed events: with filters, fewer than the engine hands over.
    onStatus: report,
    output: out,
    onProcessExit: (fn) => {
      process.once('exit', fn);
      return () => void process.off('exit', fn);
    },
  });
  const catchUp = await openCatchUp(conn, settings, logger, client, env, pipeline.settled, pipeline.distinguishedNameOf).catch(async (err: unknown) => {
    // E.g. the state is locked by another watcher: stop the pipeline's timers before saying so.
    await pipeline.finish().catch(() => undefined);
    await http.close();
    throw err;
  });
  try {
    const result = await runWatch(
      {
        client,
        initialGap: 'start',
        clock: systemClock,
        random: Math.random,
        port: pipeline.port(catchUp),
        connectionTimeoutMinutes: settings.connectionTimeoutMinutes,
        heartbeatTimeoutMs: settings.heartbeatTimeoutMs,
        answerNoticeMs: Math.min(5_000, Math.round(answerTimeoutMs / 2)),
        onStatus: report,
      },
      pipeline.signal,
    ).catch(async (err: unknown) => {
      // Whatever ended the watch, the events already received are still printed (and hooks run) first.
      await pipeline.finish().catch(() => undefined);
      throw err;
    });
    logger.debug(`stopped: ${whyStopped(result.reason, pipeline.signal.reason)}`);
    return await pipeline.finish();
  } finally {
    await catchUp.close();
    await http.close();
  }
}

/** `demo --print-credentials`: lines to paste into another terminal while the demo runs (a throwaway password). */
function demoCredentials(url: string, c: { user: string; password: string }): string {
  return [
    'ews-watch: demo: sign in from another terminal while it runs (e.g. ews-watch check) with:',
    `  export EWS_URL=${url}`,
    `  export EWS_USER=${c.user}`,
    `  export EWS_PASSWORD=${c.password}`,
    '',
  ].join('\n');
}

/** Why a watch ended, for -v: "SIGINT", "--max-events reached", "--timeout ran out", "the reader closed stdout". */
function whyStopped(result: 'stopped' | 'max-events', reason: unknown): string {
  if (reason === 'timeout') return '--timeout ran out';
  if (reason === 'stdout-closed') return 'the reader closed stdout';
  if (result === 'max-events' || reason === 'max-events') return '--max-events reached';
  return typeof reason === 'string' ? reason : 'asked to stop';
}

/** The sync state store (locked per mailbox), the ledger of printed changes, and the catch-up over them. */
async function openCatchUp(
  conn: MailboxConnection,
  settings: WatchSettings,
  logger: Logger,
  client: SyncClient,
  env: Env,
  settled: (e: WatchedEvent, then: () => void) => void,
  distinguishedNameOf: (folderId: string) => string | undefined,
): Promise<CatchUp> {
  // EWS_WATCH_STATE_RETRY_MS (not documented; for the tests): how soon a refused write of the state is tried again.
  const retryMs = Number(env.EWS_WATCH_STATE_RETRY_MS) >= 10 ? Number(env.EWS_WATCH_STATE_RETRY_MS) : WRITE_RETRY_MS;
  const { store, ledger, health } = settings.since === 'now' ? inMemory(logger) : await onDisk(conn, settings, logger, env, retryMs);
  // --all-folders: the catch-up finds the folders itself (SyncFolderHierarchy), new ones included.
  const folders: WatchedFolder[] =
    settings.folders.kind === 'all'
      ? []
      : settings.folders.folders.map((f) => (f.kind === 'distinguished' ? { key: f.name, ref: f, name: f.name } : { key: f.id, ref: f }));
  const tuning = (name: string, fallback: number): number => {
    const n = Number(env[name]);
    return env[name] !== undefined && Number.isInteger(n) && n >= 0 ? n : fallback;
  };
  const catchUp = createCatchUp({
    sync: client,
    store,
    ledger,
    folders,
    distinguishedNameOf,
    allFolders: settings.folders.kind === 'all',
    events: settings.events,
    mailbox: conn.mailbox,
    backfill: settings.backfill,
    clock: systemClock,
    quietMs: tuning('EWS_WATCH_QUIET_SYNC_MS', 10_000),
    pageSize: Math.min(512, Math.max(1, tuning('EWS_WATCH_SYNC_PAGE_SIZE', 100))),
    settled,
    warn: (line) => logger.warn(line),
    debug: (line) => logger.debug(line),
    ...(health ? { health } : {}),
    retryMs,
  });
  return {
    ...catchUp,
    async close() {
      await catchUp.close();
      await store.close();
    },
  };
}

type RunClient = WatchClient & SyncClient & EnrichClient & IdentityClient & MailboxWriter;

/**
 * How long an ordinary call may take to be answered whole, and the hanging request to send its headers.
 * EWS_WATCH_ANSWER_TIMEOUT_MS (not documented; for the tests only, like EWS_WATCH_QUIET_SYNC_MS) shortens it so a
 * test of a server that never answers, or trickles its answer, need not wait two minutes.
 */
function answerTimeoutFrom(env: Env): number {
  const n = Number(env.EWS_WATCH_ANSWER_TIMEOUT_MS);
  return env.EWS_WATCH_ANSWER_TIMEOUT_MS !== undefined && Number.isInteger(n) && n >= 100 ? n : DEFAULT_ANSWER_TIMEOUT_MS;
}

/**
 * The saved sync states of the mailbox (taking its lock) and the printed-changes ledger beside them, with one
 * voice for their failed writes (a full disk is one warning, and one line when it is over).
 */
async function onDisk(conn: MailboxConnection, settings: WatchSettings, logger: Logger, env: Env, retryMs: number): Promise<{ store: StateStore; ledger: Ledger; health: WriteHealth }> {
  // An empty EWS_STATE_DIR means unset, as for every other variable (not "the current directory").
  const root = resolvePath(settings.stateDir ?? (env.EWS_STATE_DIR || defaultStateDir(env as NodeJS.ProcessEnv)));
  const store = await openStateStore({ root, mailbox: conn.mailbox, server: conn.url.href });
  if (store.takenOverLock) logger.debug(`state: took over the lock of pid ${store.takenOverLock.pid}, which is no longer running`);
  logger.debug(`state: ${store.dir}`);
  const health = createWriteHealth({ dir: store.dir, warn: (line) => logger.warn(line), info: (line) => logger.info(line) });
  try {
    const ledger = createLedger(join(store.dir, LEDGER_FILE_NAME), { clock: systemClock, health, retryMs, debug: (line) => logger.debug(line) });
    return { store, ledger, health };
  } catch (err) {
    // printed.ledger is a link, a FIFO, a directory: refused (exit 2), and the lock released first.
    await store.close();
    throw err;
  }
}

/**
 * --since now: the baseline is taken at start (as on a first run) and gaps during the run are caught up from it,
 * but nothing is read from or written to disk: a one-shot wait beside a long-running watcher of the same mailbox
 * is neither refused by its lock nor moves its saved state past changes that watcher has not printed yet.
 */
function inMemory(logger: Logger): { store: StateStore; ledger: Ledger; health?: undefined } {
  logger.debug('state: in memory only (--since now): no state directory is read or written');
  return { store: createMemoryStateStore(), ledger: createLedger() };
}

/** The HTTP transport and the EWS client for one run, shared by watching and `check`. */
function createClientFor(
  conn: ConnectionSettings,
  auth: AuthProvider,
  settings: Pick<WatchSettings, 'folders' | 'events' | 'heartbeatTimeoutMs'>,
  logger: Logger,
  onServerVersion?: (v: ServerVersionInfo) => void,
  answerTimeoutMs = DEFAULT_ANSWER_TIMEOUT_MS,
  over?: EwsHttp,
): { http: EwsHttp; client: RunClient; anchor: { mailbox?: string } } {
  for (const s of auth.secrets) logger.addSecret(s);
  // X-AnchorMailbox: the mailbox once it is known (a DOMAIN\user sign-in finds it after signing in).
  const anchor = { mailbox: conn.mailbox };
  const http = over ?? createEwsHttp({ url: conn.url, auth, anchorMailbox: () => anchor.mailbox, logger, now: () => Date.now(), tls: tlsFor(conn, logger), answerTimeoutMs });
  const client = createEwsClient({
    http,
    url: conn.url,
    now: () => Date.now(),
    ctx: { serverVersion: conn.serverVersion, ...(conn.impersonate ? { impersonate: conn.impersonate } : {}) },
    auth,
    redact: logger.redact,
    folders: settings.folders,
    events: settings.events,
    user: conn.user ?? conn.mailbox ?? 'the account',
    streamIdleMs: settings.heartbeatTimeoutMs + 30_000,
    onServerVersion: (v) => {
      logger.debug(`server version: ${describeVersion(v)}`);
      onServerVersion?.(v);
    },
  });
  return { http, client, anchor };
}

/**
 * createClientFor, and the mailbox: --mailbox or an SMTP user name as given, else found from the server after
 * signing in (src/auth/find-mailbox.ts), before anything else uses it (X-AnchorMailbox, the state directory,
 * events). Undefined when `signal` stopped the run meanwhile.
 */
async function connectMailbox(
  given: ConnectionSettings,
  auth: AuthProvider,
  settings: Pick<WatchSettings, 'folders' | 'events' | 'heartbeatTimeoutMs'>,
  logger: Logger,
  signal: AbortSignal | undefined,
  answerTimeoutMs: number,
): Promise<{ http: EwsHttp; client: RunClient; conn: MailboxConnection } | undefined> {
  const { http, client, anchor } = createClientFor(given, auth, settings, logger, undefined, answerTimeoutMs);
  if (given.mailbox !== undefined) return { http, client, conn: given as MailboxConnection };
  let found: FoundMailbox;
  try {
    found = await findMailbox(client, given.user ?? '', { debug: (line) => logger.debug(line), host: given.url.hostname, ...(signal ? { signal } : {}) });
  } catch (err) {
    await http.close();
    if (signal?.aborted) return undefined;
    throw err;
  }
  logger.debug(`mailbox: ${found.address} (from ${found.how})`);
  anchor.mailbox = found.address;
  return { http, client, conn: Object.freeze({ ...given, mailbox: found.address }) };
}

/** --ca-file is read (and checked) before any network I/O; --insecure is warned about on every start. */
function tlsFor(conn: ConnectionSettings, logger: Logger): TlsOptions | undefined {
  if (conn.insecure) logger.warn('--insecure: the server certificate is NOT verified; anyone on the network path can read the mail and the credentials. Prefer --ca-file with your internal CA.');
  if (conn.caFile === undefined) return conn.insecure ? { insecure: true } : undefined;
  return { ca: readCaFile(conn.caFile), ...(conn.insecure ? { insecure: true } : {}) };
}

export function readCaFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --ca-file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) throw new UsageError(`--ca-file ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  for (const pem of pems) {
    try {
      new X509Certificate(pem);
    } catch {
      throw new UsageError(`--ca-file ${path} holds a certificate that cannot be read`);
    }
  }
  return pems.join('\n');
}

function buildSink(settings: WatchSettings, io: Io, writeLine: (l: string) => void): EventSink {
  if (settings.format === 'ndjson') return createNdjsonSink(writeLine);
  const tty = io.stdout.isTTY === true;
  const level = decideColourLevel(settings.colour, tty, io.env);
  return createPrettySink(writeLine, { chalk: new Chalk({ level }), tty, details: settings.details, columns: () => io.stdout.columns || undefined });
}

/** The sign-in for a connection, with the password found as for watching; also used by conformance/target.ts. */
export async function resolveAuth(conn: ConnectionSettings, io: Io, dotenv: Env, passwordFrom?: (source: string) => void, signal?: AbortSignal): Promise<AuthProvider> {
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
  const password = await findPassword(conn, io, dotenv, fromEnv, passwordFrom, signal);
  if (conn.auth === 'ntlm') return createNtlmAuth(user, password);
  if (conn.auth === 'auto') return createAutoAuth(user, password);
  return createBasicAuth(user, password);
}

/** The password, from the environment, --password-stdin, the keychain or a prompt, in that order. */
async function findPassword(
  conn: ConnectionSettings,
  io: Io,
  dotenv: Env,
  fromEnv: (name: string) => string | undefined,
  passwordFrom?: (source: string) => void,
  signal?: AbortSignal,
): Promise<string> {
  const user = conn.user as string;
  let password = fromEnv('EWS_PASSWORD');
  let source = io.env.EWS_PASSWORD ? 'env' : '.env';
  if (password === undefined && conn.passwordStdin) [password, source] = [await readPasswordFromStdin(io.stdin), 'standard input'];
  // The keychain step: loaded only here, so --help, --version and EWS_PASSWORD runs never touch native code.
  if (password === undefined) {
    const stored = await (await import('./login.js')).findStoredPassword(conn.url, user, io.env, dotenv);
    if (stored) [password, source] = [stored.password, stored.from];
  }
  if (password === undefined && io.stdin.isTTY && io.stderr.isTTY) [password, source] = [await promptPassword(io.stdin, io.stderr, `Password for ${user}: `, signal), 'prompt'];
  if (password === undefined) {
    throw new UsageError('no password: set EWS_PASSWORD, pipe it with --password-stdin, store it with `ews-watch login`, or run ews-watch on a terminal to be asked');
  }
  passwordFrom?.(source);
  return password;
}

/**
 * `check` (src/cli/check.ts): the same configuration and sign-in as watching, then one Subscribe + Unsubscribe; with
 * --live (src/cli/check-live.ts), a draft in a scratch folder of its own, timed through a real stream.
 */
async function runCheckCommand(io: Io, opts: RawOptions & { envFile?: string } & LiveFlags, interrupts: Interrupts): Promise<number> {
  const logger = createLogger((t) => void io.stderr.write(t), opts.verbose ? 1 : 0);
  try {
    const { resolveLiveSettings, runLiveCheckCommand } = await import('./check-live-command.js');
    const live = resolveLiveSettings(opts, io.stdin.isTTY === true && io.stderr.isTTY === true);
    const settings = resolveWatchSettings({ ...opts, format: 'ndjson' }, false);
    const { vars: dotenv, name: dotenvName } = loadDotenv(opts.envFile, io.cwd, (line) => logger.warn(line));
    const conn = resolveConnection(opts, io.env, dotenv, dotenvName);
    const secretSource = describeSecretSource(conn, io, dotenv);
    const auth = await resolveAuth(conn, io, dotenv, (source) => (secretSource.source = source));
    let version: ServerVersionInfo | undefined;
    const { http, client, anchor } = createClientFor(conn, auth, settings, logger, (v) => (version = v), answerTimeoutFrom(io.env));
    const { runCheck } = await import('./check.js');
    // A DOMAIN\user sign-in without --mailbox: found from the server, and shown with how it was found.
    const find = async () => {
      const found = await findMailbox(client, conn.user ?? '', { debug: (line) => logger.debug(line), host: conn.url.hostname });
      logger.debug(`mailbox: ${found.address} (from ${found.how})`);
      anchor.mailbox = found.address;
      return { name: 'mailbox', value: found.address, source: `found with ${found.how}` };
    };
    const src = (key: string): string => conn.sources[key] ?? 'default';
    const configuration = [
      { name: 'url', value: conn.url.href, source: src('url') },
      { name: 'auth', value: conn.auth, source: src('auth') },
      ...(conn.user ? [{ name: 'user', value: conn.user, source: src('user') }] : []),
      { name: 'mailbox', value: conn.mailbox ?? '?', source: conn.mailbox === undefined ? 'to be found after sign-in' : conn.sources.mailbox === 'default' ? 'default: the user' : src('mailbox') },
      { name: 'secret', value: secretSource.what, source: secretSource.source },
      { name: 'version', value: conn.serverVersion, source: src('serverVersion') },
      { name: 'folders', value: live ? 'a scratch folder of its own (--live)' : settings.folderLabel },
    ];
    const found = conn.mailbox === undefined ? { findMailbox: find } : {};
    try {
      if (live) {
        // The stream's client: Created events of the scratch folder alone, on the same connections and cookie jar.
        const clientFor = (folderId: string, over: EwsHttp, streamIdleMs: number) =>
          createClientFor(conn, auth, { folders: { kind: 'folders', folders: [{ kind: 'id', id: folderId }] }, events: ['Created'], heartbeatTimeoutMs: streamIdleMs - 30_000 }, logger, (v) => (version = v), answerTimeoutFrom(io.env), over).client;
        const check = { redact: logger.redact, configuration, scheme: () => http.scheme(), serverVersion: () => version, ...found, ...(conn.mailbox ? { mailbox: conn.mailbox } : {}) };
        return await runLiveCheckCommand({ io, interrupts, verbose: opts.verbose === true, settings: live, http, writer: client, clientFor, check });
      }
      return await runCheck({
        client,
        write: (line) => void io.stdout.write(line),
        redact: logger.redact,
        now: () => Date.now(),
        folderLabel: settings.folderLabel,
        scheme: () => http.scheme(),
        serverVersion: () => version,
        ...found,
        configuration,
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
  const { vars: dotenv, name: dotenvName } = loadDotenv(opts.envFile, io.cwd, (line) => void io.stderr.write(`ews-watch: warning: ${cleanLines(line)}\n`));
  const { runLogin, runLogout } = await import('./login.js');
  const loginIo = { env: io.env, dotenv, dotenvName, stdin: io.stdin, stderr: io.stderr };
  return which === 'login' ? runLogin(opts, loginIo) : runLogout(opts, loginIo);
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
