// One watch of one mailbox, from sign-in to the last line: the client (the mailbox found after sign-in when only a
// DOMAIN\user was given), the sync state and the printed-changes ledger, the output pipeline, and the engine.
// Called by `ews-watch` and `demo` with one options object; returns the exit code.

import { join } from 'node:path';
import type { AuthProvider } from '../auth/types.js';
import { createCatchUp, type CatchUp, type WatchedFolder } from '../catchup/catchup.js';
import { createLedger, type Ledger } from '../catchup/ledger.js';
import type { EventSink, WatchedEvent } from '../base/event.js';
import { createWriteHealth, type WriteHealth } from '../state/health.js';
import { createMemoryStateStore, openStateStore, type StateStore } from '../state/index.js';
import { LEDGER_FILE_NAME } from '../state/paths.js';
import type { Logger } from '../term/logger.js';
import type { StatusLine } from '../term/spinner.js';
import { scaledSleeps, systemClock } from '../base/clock.js';
import { runWatch } from '../watch/engine.js';
import type { Tuning } from './command-config.js';
import type { ConnectionSettings, MailboxConnection, WatchSettings } from './config.js';
import { connectMailbox } from './connect.js';
import { EXIT } from './exit-codes.js';
import { createPipeline, loadPipelineParts } from './pipeline.js';
import type { Env } from './precedence.js';
import { createStatusReporter } from './status.js';
import type { StdoutGuard } from './stdout.js';
import type { SyncClient } from '../ews/client.js';

export interface WatchRun {
  conn: ConnectionSettings;
  auth: AuthProvider;
  settings: WatchSettings;
  logger: Logger;
  status: StatusLine;
  sink: EventSink;
  /** The user's stop: a signal, or standard output failing. */
  signal: AbortSignal;
  /** The root of the sync states (one directory per mailbox in it); unused with --since now. */
  stateDir: string;
  tuning: Tuning;
  /** The environment hooks inherit. */
  hookEnv: Env;
  out: StdoutGuard;
}

export async function watchWith(run: WatchRun): Promise<number> {
  const { conn: given, auth, settings, logger, status, sink, signal, hookEnv, out } = run;
  const answerTimeoutMs = run.tuning.answerTimeoutMs;
  const connected = await connectMailbox(given, auth, settings, logger, signal, answerTimeoutMs);
  if (!connected) return EXIT.ok; // stopped (a signal, stdout closed) while finding the mailbox
  const { http, client, conn } = connected;
  const report = createStatusReporter({ logger, status, folderLabel: settings.folderLabel, mailbox: conn.mailbox, heartbeatTimeoutMs: settings.heartbeatTimeoutMs, now: () => Date.now() });
  const pipeline = createPipeline({
    settings,
    parts: await loadPipelineParts(settings),
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
  const catchUp = await openCatchUp(conn, settings, logger, client, run, pipeline.settled, pipeline.distinguishedNameOf).catch(async (err: unknown) => {
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
        clock: scaledSleeps(systemClock, run.tuning.backoffPercent),
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

/** Why a watch ended, for -v: "SIGINT", "--max-events reached", "--timeout ran out", "the reader closed stdout". */
function whyStopped(result: 'stopped' | 'max-events', reason: unknown): string {
  if (reason === 'timeout') return '--timeout ran out';
  if (reason === 'stdout-closed') return 'the reader closed stdout';
  if (result === 'max-events' || reason === 'max-events') return '--max-events reached';
  return typeof reason === 'string' ? reason : 'asked to stop';
}

/** The sync state store (locked per mailbox), the ledger of printed changes, and the catch-up over them. */
export async function openCatchUp(
  conn: Pick<MailboxConnection, 'mailbox' | 'url'>,
  settings: WatchSettings,
  logger: Logger,
  client: SyncClient,
  where: Pick<WatchRun, 'stateDir' | 'tuning'>,
  settled: (e: WatchedEvent, then: () => void) => void,
  distinguishedNameOf: (folderId: string) => string | undefined,
): Promise<CatchUp> {
  const retryMs = where.tuning.stateRetryMs;
  const { store, ledger, health } = settings.since === 'now' ? inMemory(logger) : await onDisk(conn, where.stateDir, logger, retryMs);
  // --all-folders: the catch-up finds the folders itself (SyncFolderHierarchy), new ones included.
  const folders: WatchedFolder[] =
    settings.folders.kind === 'all'
      ? []
      : settings.folders.folders.map((f) => (f.kind === 'distinguished' ? { key: f.name, ref: f, name: f.name } : { key: f.id, ref: f }));
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
    quietMs: where.tuning.quietSyncMs,
    pageSize: where.tuning.syncPageSize,
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

/**
 * The saved sync states of the mailbox (taking its lock) and the printed-changes ledger beside them, with one
 * voice for their failed writes (a full disk is one warning, and one line when it is over).
 */
async function onDisk(conn: Pick<MailboxConnection, 'mailbox' | 'url'>, root: string, logger: Logger, retryMs: number): Promise<{ store: StateStore; ledger: Ledger; health: WriteHealth }> {
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
