// `ews-watch [options]`: watch a mailbox and print every event until stopped. The options are the root command's
// (program.ts); the configuration is resolved once (command-config.ts), the connection after the terminal is set
// up so that .env's warnings and a password prompt go through the status line. Many mailboxes (several --mailbox,
// --mailboxes-file, --shard) are watched by fleet-watch.ts, with the fleet's factories (fleet-factories.ts).

import { resolveWatchConfig } from '../command-config.js';
import { isLocated, type ConnectionSettings, type RawOptions } from '../config.js';
import type { CommandContext } from '../io-streams.js';
import { resolveAuth } from '../sign-in.js';
import { runWatching } from '../watching.js';
import type { FleetFactories } from '../fleet-watch.js';
import { watchWith } from '../watch-with.js';

export type WatchOptions = RawOptions & { envFile?: string };

/** `factories`: the fleet's transport and engine (tests inject fakes); default fleet-factories.ts. */
export function runWatchCommand(ctx: CommandContext, opts: WatchOptions, factories?: FleetFactories): Promise<number> {
  return runWatching(ctx, opts, async ({ run, logger, status, sink, signal, manyMailboxes }) => {
    const configured = resolveWatchConfig(opts, run, ctx.io, (line) => logger.warn(line));
    if (configured.mailboxes.kind === 'many') {
      manyMailboxes();
      const { runFleetWatch } = await import('../fleet-watch.js');
      const fleet = factories ?? (await import('../fleet-factories.js')).fleetFactories;
      return runFleetWatch({ ctx, config: { ...configured, mailboxes: configured.mailboxes }, logger, status, sink, signal, factories: fleet });
    }
    for (const line of configured.mailboxes.warnings) logger.warn(line);
    // No --url: a URL autodiscover found in the last day (--since now keeps nothing on disk, so asks every time).
    // With one, autodiscover (locate.ts and what it loads) is not even loaded.
    const given = configured.connection;
    const locate = isLocated(given) ? undefined : await import('../locate.js');
    const where = { cacheDir: configured.settings.since === 'now' ? undefined : configured.stateDir, tuning: configured.tuning, signal };
    const config = { ...configured, connection: locate ? await locate.withCachedServer(given, where, logger) : given };
    // The status line draws nothing before its first set(), which comes once signed in: a password prompt is never overdrawn.
    const auth = await resolveAuth(config, ctx.io, { signal });
    return watchWith({
      conn: locate ? await locate.locateServer(config.connection, auth, logger, where) : (given as ConnectionSettings),
      auth,
      settings: config.settings,
      logger,
      status,
      sink,
      signal,
      stateDir: config.stateDir,
      tuning: config.tuning,
      hookEnv: config.hookEnv,
      out: ctx.out,
    });
  });
}
