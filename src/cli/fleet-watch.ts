// `ews-watch --mailboxes-file FILE` (or several --mailbox, or --shard): many mailboxes from one process (README "Many
// mailboxes"). The list is read (flags, file, then this shard's part), each mailbox located (--url: all there; else
// the autodiscover cache or batched GetUserSettings), and the fleet (src/fleet/) run over one transport with the
// mailbox ports (mailbox-ports.ts) and one printed path. SIGHUP reads the file again and updates the fleet.
// The transport and the fleet come from injected factories (fleet-factories.ts), so tests run a fake fleet.

import type { AuthProvider } from '../auth/types.js';
import { formatDuration } from '../base/duration.js';
import { scaledSleeps, systemClock, type Clock } from '../base/clock.js';
import { describeError, UsageError } from '../errors.js';
import type { Located } from '../fleet/grouping.js';
import type { Fleet, FleetOptions, FleetStatus, FleetTransport } from '../fleet/types.js';
import type { Mailbox } from '../mailboxes/address.js';
import { diffMailboxes } from '../mailboxes/list.js';
import type { Logger } from '../term/logger.js';
import type { StatusLine } from '../term/spinner.js';
import type { EventSink } from '../base/event.js';
import type { Tuning, WatchConfig } from './command-config.js';
import type { ConfiguredConnection, WatchSettings } from './config.js';
import type { CommandContext } from './io-streams.js';
import { locateMany } from './locate.js';
import { readMailboxList, sourceOf, type ReadList } from './mailbox-list.js';
import { createMailboxPorts, createMailboxRegistry } from './mailbox-ports.js';
import type { MailboxSelection } from './mailbox-selection.js';
import { createPipeline, loadPipelineParts } from './pipeline.js';
import { resolveAuth } from './sign-in.js';

/** What the HTTP transport is made from (src/transport/ implements FleetTransport). */
export interface FleetTransportSetup {
  auth: AuthProvider;
  /** URL (if given), server version, TLS (--ca-file, --insecure) and the account; no mailbox. */
  connection: ConfiguredConnection;
  /** What each Subscribe names (GroupClient.subscribe takes no folders: the transport gets them here). */
  settings: Pick<WatchSettings, 'folders' | 'events'>;
  logger: Logger;
  tuning: Tuning;
}

/** The two parts other modules own, injected: the lead wires the real ones in fleet-factories.ts. */
export interface FleetFactories {
  transport(o: FleetTransportSetup): FleetTransport;
  fleet(o: FleetOptions): Fleet;
}

/**
 * How long the way out may spend ending the fleet's subscriptions (ten Unsubscribes in flight at once). One mailbox's
 * 5 s is too short for many: 450 at 120 ms an answer take 5.4 s. 20 s leaves room within Kubernetes' default grace
 * period of 30 s (README "On Kubernetes"); what is not ended by then the server expires.
 */
export const FLEET_UNSUBSCRIBE_TIMEOUT_MS = 20_000;

export interface FleetRun {
  ctx: CommandContext;
  config: WatchConfig & { mailboxes: Extract<MailboxSelection, { kind: 'many' }> };
  logger: Logger;
  status: StatusLine;
  sink: EventSink;
  signal: AbortSignal;
  factories: FleetFactories;
  /** Default: the system clock, its back-off waits scaled by EWS_WATCH_BACKOFF_PERCENT. */
  clock?: Clock;
}

export async function runFleetWatch(r: FleetRun): Promise<number> {
  const { config, logger } = r;
  const sel = config.mailboxes;
  for (const line of sel.warnings) logger.warn(line);
  const first = await readMailboxList(sel, r.ctx.io.stdin);
  for (const line of first.warnings) logger.warn(line);
  sayShard(r, first);
  const auth = await resolveAuth(config, r.ctx.io, { signal: r.signal });
  const transport = r.factories.transport({ auth, connection: config.connection, settings: config.settings, logger, tuning: config.tuning });
  try {
    const locator = createLocator(r, auth);
    const located = await locator.locate(first.mine, { initial: true });
    if (r.signal.aborted) return 0;
    return await watchFleet(r, transport, locator, first, located);
  } finally {
    await transport.close();
  }
}

type Locator = ReturnType<typeof createLocator>;

/** Where each mailbox lives: --url for all, else autodiscover (the cache first); known ones are not asked again. */
function createLocator(r: FleetRun, auth: AuthProvider) {
  const known = new Map<string, Located>();
  const { config, logger } = r;
  return {
    async locate(mailboxes: readonly Mailbox[], o: { initial?: boolean } = {}): Promise<Located[]> {
      const url = config.connection.url;
      const ask = mailboxes.filter((m) => !known.has(m.key));
      if (url !== undefined) for (const m of ask) known.set(m.key, { address: m.address, ewsUrl: url.href });
      else if (ask.length > 0) {
        const cacheDir = config.settings.since === 'now' ? undefined : config.stateDir;
        const found = await locateMany(config.connection, auth, logger, { cacheDir, tuning: config.tuning, signal: r.signal }, ask.map((m) => m.address));
        for (const l of found.located) known.set(l.address.toLowerCase(), l);
        for (const f of found.failed) logger.warn(`${f.address}: left out: ${f.reason}${config.mailboxes.file ? '; SIGHUP tries again' : ''}`);
        if (o.initial && found.located.length === 0 && ask.length > 0 && known.size === 0) {
          throw new UsageError(`autodiscover found none of the ${ask.length} mailboxes (the first: ${found.failed[0]?.reason ?? 'no answer'}): pass --url https://mail.example.com/EWS/Exchange.asmx`);
        }
      }
      return mailboxes.flatMap((m) => known.get(m.key) ?? []);
    },
  };
}

/** --shard: how many of the list are this process's; none is a warning, and the process idles (README says why). */
function sayShard(r: FleetRun, list: ReadList): void {
  const shard = r.config.mailboxes.shard;
  if (!shard) {
    r.logger.debug(`watching ${list.all.length} mailboxes`);
    return;
  }
  const part = `--shard ${shard.index}/${shard.count}`;
  if (list.mine.length === 0) {
    const later = r.config.mailboxes.file && r.config.mailboxes.file.path !== '-' ? 'until SIGHUP reads a list that gives it some' : 'until stopped';
    r.logger.warn(`${part}: none of the ${list.all.length} mailboxes falls in this shard; idling ${later}`);
  } else r.logger.info(`${part}: watching ${list.mine.length} of the ${list.all.length} mailboxes`);
}

async function watchFleet(r: FleetRun, transport: FleetTransport, locator: Locator, first: ReadList, located: Located[]): Promise<number> {
  const { config, logger, status } = r;
  const { settings } = config;
  const clock = r.clock ?? scaledSleeps(systemClock, config.tuning.backoffPercent);
  let watched = located.length;
  const show = (count?: number): void => status.set(`watching ${settings.folderLabel} of ${watched} mailboxes${count === undefined ? '' : ` · ${count} events`}`);
  const registry = createMailboxRegistry(settings.details);
  const pipeline = createPipeline({
    settings,
    parts: await loadPipelineParts(settings),
    client: undefined,
    mailbox: '',
    mailboxes: registry,
    sink: r.sink,
    clock: r.clock ?? systemClock,
    logger,
    writeErr: (text) => status.write(text),
    hookEnv: config.hookEnv as NodeJS.ProcessEnv,
    signal: r.signal,
    onStatus: (s) => s.type === 'event' && show(s.count),
    output: r.ctx.out,
    onProcessExit: (fn) => {
      process.once('exit', fn);
      return () => void process.off('exit', fn);
    },
  });
  const ports = createMailboxPorts({ transport, registry, pipeline, settings, logger, clock: r.clock ?? systemClock, stateDir: config.stateDir, tuning: config.tuning });
  const fleet = r.factories.fleet({
    transport,
    ports,
    mailboxes: located,
    ...(config.connection.url ? { url: config.connection.url.href } : {}),
    clock,
    random: Math.random,
    connectionTimeoutMinutes: settings.connectionTimeoutMinutes,
    heartbeatTimeoutMs: settings.heartbeatTimeoutMs,
    unsubscribeTimeoutMs: FLEET_UNSUBSCRIBE_TIMEOUT_MS,
    ...(config.tuning.mailboxRetryMs !== undefined ? { mailboxRetryMs: config.tuning.mailboxRetryMs } : {}),
    onStatus: (s) => reportFleet(logger, s),
  });
  show();
  const reloader = createReloader(r, fleet, locator, first, (n) => ((watched = n), show()));
  const offHangup = r.ctx.interrupts.onHangup(() => reloader.request());
  try {
    const result = await fleet.run(pipeline.signal).catch(async (err: unknown) => {
      await pipeline.finish().catch(() => undefined);
      throw err;
    });
    logger.debug(`stopped: ${result.reason === 'max-events' ? '--max-events reached' : String(pipeline.signal.reason ?? r.signal.reason ?? 'asked to stop')}`);
    return await pipeline.finish();
  } finally {
    offHangup();
    await reloader.idle();
    await ports.closeAll();
  }
}

/** What the fleet says, as lines: a mailbox that cannot be watched is a warning naming it and what to ask the admin. */
export function reportFleet(logger: Logger, s: FleetStatus): void {
  switch (s.type) {
    case 'mailbox-failed':
      return logger.warn(`${s.mailbox}: ${s.code}: ${s.advice} (tried again in ${formatDuration(s.retryMs)})`);
    case 'mailbox-recovered':
      return logger.info(`${s.mailbox}: watched again`);
    case 'group-connected':
      return logger.debug(`group ${s.group}: streaming ${s.members} mailboxes under ${s.anchor}${s.cookie ? ' (affinity cookie held)' : ''}`);
    case 'group-disconnected':
      return logger.debug(`group ${s.group}: ${s.reason}; reconnecting in ${formatDuration(s.delayMs)}`);
    case 'subscribed':
      return logger.debug(`${s.mailbox}: subscribed`);
    default:
      return undefined;
  }
}

/**
 * SIGHUP: the mailboxes file read again and the fleet updated, one reading at a time (a SIGHUP during a reading
 * asks for one more after it). A file that fails now keeps the list of the last good reading, said in one line.
 */
function createReloader(r: FleetRun, fleet: Fleet, locator: Locator, first: ReadList, watching: (n: number) => void) {
  const { logger } = r;
  const file = r.config.mailboxes.file;
  let current = first.mine;
  let running: Promise<void> | undefined;
  let again = false;
  const reload = async (): Promise<void> => {
    let next: ReadList;
    try {
      next = await readMailboxList(r.config.mailboxes, r.ctx.io.stdin);
    } catch (err) {
      logger.warn(`SIGHUP: ${describeError(err)}; still watching the ${current.length} mailboxes of the last good reading`);
      return;
    }
    for (const line of next.warnings) logger.warn(line);
    const diff = diffMailboxes(current, next.mine);
    if (diff.added.length === 0 && diff.removed.length === 0) {
      logger.info(`SIGHUP: ${sourceOf(file!)} read again: no change (${current.length} mailboxes)`);
      return;
    }
    const located = await locator.locate(next.mine);
    const change = await fleet.update(located);
    current = next.mine.filter((m) => located.some((l) => l.address.toLowerCase() === m.key));
    watching(located.length);
    logger.info(`SIGHUP: ${sourceOf(file!)} read again: ${change.added.length} added, ${change.removed.length} removed, ${located.length} watched`);
  };
  const loop = async (): Promise<void> => {
    do {
      again = false;
      await reload().catch((err: unknown) => logger.warn(`SIGHUP: ${describeError(err)}`));
    } while (again && !r.signal.aborted);
    running = undefined;
  };
  return {
    request(): void {
      if (file === undefined) return logger.info('SIGHUP: there is no --mailboxes-file to read again; ignored');
      if (file.path === '-') return logger.info('SIGHUP: the list came from standard input, which cannot be read again; ignored');
      if (r.signal.aborted) return;
      if (running) again = true;
      else running = loop();
    },
    idle: async (): Promise<void> => {
      while (running) await running;
    },
  };
}
