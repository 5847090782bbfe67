// `ews-watch check`: the same configuration and sign-in as watching, then one Subscribe + Unsubscribe, reported on
// stdout (src/cli/check.ts); with --live (src/cli/check-live.ts), a draft in a scratch folder of its own, timed
// through a real stream. Every error is one line on stderr and the exit code of watching.

import { findMailbox } from '../../auth/find-mailbox.js';
import { describeError } from '../../errors.js';
import type { ServerVersionInfo } from '../../ews/types.js';
import { createLogger, type Logger } from '../../term/logger.js';
import type { EwsHttp } from '../../transport/http.js';
import type { LiveFlags } from '../check-live-command.js';
import type { CheckRow } from '../check.js';
import { resolveCheckConfig, type CheckConfig } from '../command-config.js';
import type { ConnectionSettings, RawOptions } from '../config.js';
import { createClientFor } from '../connect.js';
import { exitCodeFor } from '../exit-codes.js';
import { locateServer } from '../locate.js';
import type { CommandContext } from '../io-streams.js';
import { describeSecretSource, resolveAuth } from '../sign-in.js';
import type { FleetFactories } from '../fleet-watch.js';

/** The configuration with the server's URL: given, or found by autodiscover. */
type Located = CheckConfig & { connection: ConnectionSettings };

export type CheckCommandOptions = RawOptions & LiveFlags & { envFile?: string };

/** `factories`: the fleet's transport for many mailboxes (tests inject a fake); default fleet-factories.ts. */
export async function runCheckCommand(ctx: CommandContext, opts: CheckCommandOptions, factories?: Pick<FleetFactories, 'transport'>): Promise<number> {
  const { io } = ctx;
  // --live writes to the mailbox: a signal stops it in order, so that it cleans up (check-live.ts). Plain check has
  // no orderly stop to make: a signal ends it as it ends any program.
  if (!opts.live) ctx.interrupts.handOver();
  const logger = createLogger((t) => void io.stderr.write(t), opts.verbose ? 1 : 0);
  try {
    const config = await resolveCheckConfig(opts, io, (line) => logger.warn(line));
    if (config.mailboxes.kind === 'many') {
      const { runFleetCheck } = await import('../fleet-check.js');
      const transport = factories ?? (await import('../fleet-factories.js')).fleetFactories;
      return await runFleetCheck({ io, config: { ...config, mailboxes: config.mailboxes }, logger, factories: transport });
    }
    const secretSource = describeSecretSource(config);
    const auth = await resolveAuth(config, io, { passwordFrom: (source) => (secretSource.source = source) });
    // No --url: autodiscover, afresh (check shows what would be found now, and keeps nothing).
    const connection = await locateServer(config.connection, auth, logger, { cacheDir: undefined, tuning: config.tuning });
    return await checkWith(ctx, { ...config, connection }, auth, logger, opts.verbose === true, secretSource);
  } catch (err) {
    logger.error(describeError(err));
    return exitCodeFor(err);
  }
}

async function checkWith(
  ctx: CommandContext,
  config: Located,
  auth: Awaited<ReturnType<typeof resolveAuth>>,
  logger: Logger,
  verbose: boolean,
  secretSource: { what: string; source: string },
): Promise<number> {
  const { connection: conn, settings, live, tuning } = config;
  let version: ServerVersionInfo | undefined;
  const { http, client, anchor } = createClientFor(conn, auth, settings, logger, { onServerVersion: (v) => (version = v), answerTimeoutMs: tuning.answerTimeoutMs });
  const { runCheck } = await import('../check.js');
  // A DOMAIN\user sign-in without --mailbox: found from the server, and shown with how it was found.
  const find = async (): Promise<CheckRow> => {
    const found = await findMailbox(client, conn.user ?? '', { debug: (line) => logger.debug(line), host: conn.url.hostname });
    logger.debug(`mailbox: ${found.address} (from ${found.how})`);
    anchor.mailbox = found.address;
    return { name: 'mailbox', value: found.address, source: `found with ${found.how}` };
  };
  const configuration = configurationRows(config, secretSource);
  const found = conn.mailbox === undefined ? { findMailbox: find } : {};
  try {
    if (live) {
      const { runLiveCheckCommand } = await import('../check-live-command.js');
      // The stream's client: Created events of the scratch folder alone, on the same connections and cookie jar.
      const clientFor = (folderId: string, over: EwsHttp) =>
        createClientFor(conn, auth, { folders: { kind: 'folders', folders: [{ kind: 'id', id: folderId }] }, events: ['Created'] }, logger, { onServerVersion: (v) => (version = v), answerTimeoutMs: tuning.answerTimeoutMs, http: over }).client;
      const check = { redact: logger.redact, configuration, scheme: () => http.scheme(), serverVersion: () => version, ...found, ...(conn.mailbox ? { mailbox: conn.mailbox } : {}) };
      return await runLiveCheckCommand({ io: ctx.io, terminal: config.terminal, interrupts: ctx.interrupts, verbose, settings: live, http, writer: client, clientFor, check });
    }
    return await runCheck({
      client,
      write: (line) => void ctx.io.stdout.write(line),
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
}

/** The configuration table: each value and where it came from. */
function configurationRows(config: Located, secretSource: { what: string; source: string }): CheckRow[] {
  const { connection: conn, settings, live } = config;
  const src = (key: string): string => conn.sources[key] ?? 'default';
  return [
    { name: 'url', value: conn.url.href, source: conn.autodiscover ? 'autodiscover (-v says where)' : src('url') },
    { name: 'auth', value: conn.auth, source: src('auth') },
    ...(conn.user ? [{ name: 'user', value: conn.user, source: src('user') }] : []),
    { name: 'mailbox', value: conn.mailbox ?? '?', source: conn.mailbox === undefined ? 'to be found after sign-in' : conn.sources.mailbox === 'default' ? 'default: the user' : src('mailbox') },
    { name: 'secret', value: secretSource.what, source: secretSource.source },
    { name: 'version', value: conn.serverVersion, source: src('serverVersion') },
    { name: 'folders', value: live ? 'a scratch folder of its own (--live)' : settings.folderLabel },
  ];
}
