// The mailbox ports of a fleet (src/fleet/types.ts MailboxPorts): for each mailbox its own state store (locked, under
// the state root as for one mailbox), ledger, catch-up, folder names and --details lookups, all feeding ONE printed
// path (one output, one hook runner, one --max-events count); every event carries its own mailbox.
//
// Memory (1,000 mailboxes in one process): a mailbox holds only what it needs while idle, a few small objects; its
// timers exist only while a catch-up or a lookup waits, and its requests go through the transport's shared
// connections (FleetTransport.mailbox), never a connection of its own.

import type { Located } from '../fleet/grouping.js';
import type { FleetTransport, MailboxPort, MailboxPorts } from '../fleet/types.js';
import type { DetailsSource } from '../enrich/details.js';
import type { FolderNames } from '../enrich/folders.js';
import type { MailboxEnrichment, Recorder } from '../printed/path.js';
import type { Clock } from '../base/clock.js';
import type { Logger } from '../term/logger.js';
import type { Tuning } from './command-config.js';
import type { WatchSettings } from './config.js';
import { createDetails, createNames, type Pipeline } from './pipeline.js';
import { openCatchUp } from './watch-with.js';

interface Parts {
  names: FolderNames;
  details?: DetailsSource;
  recorder: Recorder;
}

/** Who is watched now, by lower-cased address: what the printed path asks for each event (MailboxEnrichment). */
export interface MailboxRegistry extends MailboxEnrichment {
  readonly size: number;
  set(address: string, parts: Parts): void;
  delete(address: string): void;
  has(address: string): boolean;
}

export function createMailboxRegistry(details: boolean): MailboxRegistry {
  const parts = new Map<string, Parts>();
  return {
    details,
    of: (mailbox) => parts.get(mailbox.toLowerCase()),
    closeDetails() {
      for (const p of parts.values()) p.details?.close();
    },
    get size() {
      return parts.size;
    },
    set: (address, p) => void parts.set(address.toLowerCase(), p),
    delete: (address) => void parts.delete(address.toLowerCase()),
    has: (address) => parts.has(address.toLowerCase()),
  };
}

export interface MailboxPortsOptions {
  transport: Pick<FleetTransport, 'mailbox'>;
  registry: MailboxRegistry;
  /** The one pipeline, created with `mailboxes: registry`. */
  pipeline: Pick<Pipeline, 'port' | 'settled' | 'parts'>;
  settings: WatchSettings;
  logger: Logger;
  clock: Clock;
  /** The root of the sync states: one directory per mailbox in it, each locked by this process. */
  stateDir: string;
  tuning: Tuning;
}

export interface FleetPorts extends MailboxPorts {
  /** Closes every port still open (the fleet closes them as it ends; this is for a fleet that failed first). */
  closeAll(): Promise<void>;
}

export function createMailboxPorts(o: MailboxPortsOptions): FleetPorts {
  const opened = new Set<MailboxPort>();
  return {
    async closeAll() {
      await Promise.allSettled([...opened].map((p) => p.close()));
    },
    async open(m: Located): Promise<MailboxPort> {
      if (o.registry.has(m.address)) throw new Error(`${m.address} is watched already`);
      const client = o.transport.mailbox(m.address, m.ewsUrl);
      // Its warnings name it: among a thousand mailboxes, "rebuilt the baseline" must say whose.
      const logger = namedLogger(o.logger, m.address);
      const names = createNames({ settings: o.settings, clock: o.clock, logger }, client);
      const details = o.settings.details ? createDetails({ clock: o.clock, logger, parts: o.pipeline.parts }, client) : undefined;
      const catchUp = await openCatchUp({ mailbox: m.address, url: new URL(m.ewsUrl) }, o.settings, logger, client, o, o.pipeline.settled, (id) => names.distinguishedNameOf(id));
      let open = true;
      // After close, what is still on its way through the path for this mailbox records nothing in its closed ledger.
      const recorder: Recorder = {
        admit: (e) => catchUp.admit(e),
        gap: (info, signal, emit) => catchUp.gap(info, signal, emit),
        printing: (events) => void (open && catchUp.printing(events)),
        flushIntents: () => void (open && catchUp.flushIntents()),
        printed: (e, emit) => void (open && catchUp.printed(e, emit)),
      };
      o.registry.set(m.address, { names, ...(details ? { details } : {}), recorder });
      const port = o.pipeline.port(recorder, m.address);
      const mailboxPort: MailboxPort = {
        // The printed path's one ready(), not a wrapper per mailbox: a group asks each distinct one once per chunk.
        ...(port.ready ? { ready: port.ready } : {}),
        event: (event) => port.event(event),
        gap: (info, signal) => port.gap(info, signal),
        async close() {
          if (!open) return;
          open = false;
          opened.delete(mailboxPort);
          o.registry.delete(m.address);
          details?.close();
          await catchUp.close();
        },
      };
      opened.add(mailboxPort);
      return mailboxPort;
    },
  };
}

/** The run's logger, with the mailbox's address before each line it says (secrets still redacted by the run's). */
export function namedLogger(logger: Logger, address: string): Logger {
  return {
    get verbosity() {
      return logger.verbosity;
    },
    addSecret: (secret, kind) => logger.addSecret(secret, kind),
    debug: (line) => logger.debug(`${address}: ${line}`),
    info: (line) => logger.info(`${address}: ${line}`),
    warn: (line) => logger.warn(`${address}: ${line}`),
    error: (line) => logger.error(`${address}: ${line}`),
    redact: (text) => logger.redact(text),
  };
}
