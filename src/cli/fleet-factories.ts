// The fleet engine (src/fleet/engine.ts) and its HTTP transport (src/transport/fleet-transport.ts) as the command line
// makes them: the one place that names them, so that tests inject fakes (fleet-watch.ts FleetFactories) and the rest
// of the command line does not depend on how they are built.

import { createFleet } from '../fleet/engine.js';
import { createFleetTransport } from '../transport/fleet-transport.js';
import { tlsFor } from './connect.js';
import type { FleetFactories } from './fleet-watch.js';
import { describeVersion } from './server-version.js';

export const fleetFactories: FleetFactories = {
  transport: ({ auth, connection, settings, logger, tuning }) => {
    const tls = tlsFor(connection, logger);
    return createFleetTransport({
      auth,
      logger,
      now: () => Date.now(),
      serverVersion: connection.serverVersion,
      folders: settings.folders,
      events: settings.events,
      user: connection.user ?? 'the account',
      ...(tls ? { tls } : {}),
      answerTimeoutMs: tuning.answerTimeoutMs,
      onServerVersion: (v) => logger.debug(`server version: ${describeVersion(v)}`),
    });
  },
  fleet: (options) => createFleet(options),
};
