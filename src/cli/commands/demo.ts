// `ews-watch demo`: start the built-in simulated Exchange on 127.0.0.1 and watch it over real HTTP, with the same
// code and the watching options. Its sync state lives in a temporary directory of its own unless --state-dir says
// otherwise; --print-credentials (or -v) says how to reach it from another terminal.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBasicAuth } from '../../auth/basic.js';
import { resolveDemoConfig } from '../command-config.js';
import type { ConnectionSettings, RawOptions } from '../config.js';
import type { CommandContext } from '../io-streams.js';
import { runWatching } from '../watching.js';
import { watchWith } from '../watch-with.js';

export type DemoOptions = RawOptions & { printCredentials?: boolean };

export function runDemoCommand(ctx: CommandContext, opts: DemoOptions): Promise<number> {
  return runWatching(ctx, opts, async ({ run, logger, status, sink, signal }) => {
    const config = resolveDemoConfig(run, ctx.io);
    const { startSimulator } = await import('../../simulator/index.js');
    const sim = await startSimulator({ demo: config.intervalMs !== undefined ? { intervalMs: config.intervalMs } : true });
    // The demo's mailbox lives only as long as the demo: so does its sync state.
    const ownState = config.stateDir === undefined ? mkdtempSync(join(tmpdir(), 'ews-watch-demo-')) : undefined;
    try {
      // Two short lines: one long one wrapped mid-word on a 120-column terminal.
      logger.info(`demo: simulated Exchange at ${sim.url}`);
      logger.info('demo: new mail arrives every few seconds; Ctrl-C stops');
      // Asked for (or -v): how to reach it from another terminal. Written as is: the logger would redact the password.
      if (opts.printCredentials || config.settings.verbosity >= 1) status.write(demoCredentials(sim.url, sim.credentials));
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
      const auth = createBasicAuth(sim.credentials.user, sim.credentials.password);
      const stateDir = config.stateDir ?? (ownState as string);
      return await watchWith({ conn, auth, settings: config.settings, logger, status, sink, signal, stateDir, tuning: config.tuning, hookEnv: config.hookEnv, out: ctx.out });
    } finally {
      await sim.close();
      if (ownState) rmSync(ownState, { recursive: true, force: true });
    }
  });
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
