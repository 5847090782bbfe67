// The fleet engine (src/fleet/engine.ts) and its HTTP transport (src/transport/) as the command line makes them:
// the one place that names them, so that tests inject fakes (fleet-watch.ts FleetFactories) and the rest of the
// command line does not depend on how they are built.

import { EwsWatchError } from '../errors.js';
import type { FleetFactories } from './fleet-watch.js';

const missing = (what: string): never => {
  throw new EwsWatchError('runtime', `watching many mailboxes needs the ${what}, which this build does not include`);
};

export const fleetFactories: FleetFactories = {
  transport: () => missing('fleet transport (src/transport/)'),
  fleet: () => missing('fleet engine (src/fleet/engine.ts)'),
};
