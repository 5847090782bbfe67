// Where the conformance run writes: the mailbox the environment names, reached exactly as ews-watch reaches it (the
// CLI's configuration: EWS_URL, EWS_USER, EWS_AUTH, EWS_MAILBOX, …, ./.env, and the password from EWS_PASSWORD,
// the credential store or a prompt), through the same EWS client. The transport is wrapped to keep the raw
// answer of the last call, so that a call that goes wrong can be shown as the server answered it.

import { findMailbox } from '../src/auth/find-mailbox.js';
import { UsageError } from '../src/errors.js';
import { resolveCheckConfig } from '../src/cli/command-config.js';
import { createClientFor } from '../src/cli/connect.js';
import type { IOStreams } from '../src/cli/io-streams.js';
import { resolveAuth } from '../src/cli/sign-in.js';
import type { Logger } from '../src/term/logger.js';
import type { EwsHttp } from '../src/transport/http.js';
import type { HarnessClient } from './harness.js';

export interface Target {
  client: HarnessClient;
  /** The endpoint and mailbox, for the report. */
  describe: string;
  /** Extra watcher arguments and standard input: a prompted password reaches them on stdin, never in argv. */
  cliArgs: string[];
  cliStdin?: string;
  lastRaw(): string | undefined;
  close(): Promise<void>;
}

/** How much of a raw answer is kept for the report. */
const MAX_RAW = 16_384;

export async function connectTarget(io: IOStreams, logger: Logger): Promise<Target> {
  // Resolved as `ews-watch check` resolves it: flags (none here), the environment, ./.env, defaults.
  const config = await resolveCheckConfig({}, io, (line) => logger.warn(line));
  const given = config.connection;
  // The conformance run names its server: autodiscover is ews-watch's, not what this run measures.
  if (given.url === undefined) throw new UsageError('the conformance run needs the server: pass --url or set EWS_URL');
  const conn = { ...given, url: given.url };
  let passwordSource: string | undefined;
  const auth = await resolveAuth(config, io, { passwordFrom: (source) => (passwordSource = source) });
  let last: string | undefined;
  // The client ews-watch itself builds (TLS, anchor, secrets for redaction), with each raw answer kept for the report.
  const keepRaw = (base: EwsHttp): EwsHttp => ({
    async post(body, opts) {
      last = undefined;
      const res = await base.post(body, opts);
      last = `HTTP ${res.status} ${logger.redact(res.body.slice(0, MAX_RAW))}`;
      return res;
    },
    openStream: (body, opts) => base.openStream(body, opts),
    scheme: () => base.scheme(),
    close: () => base.close(),
  });
  const { http, client, anchor } = createClientFor(conn, auth, { folders: { kind: 'all' }, events: ['NewMail'] }, logger, { wrapHttp: keepRaw });
  if (anchor.mailbox === undefined) anchor.mailbox = (await findMailbox(client, conn.user ?? '', { debug: (line) => logger.debug(line), host: conn.url.hostname })).address;
  // A prompted password cannot be typed again by each watcher: it gets it on standard input.
  const prompted = passwordSource === 'prompt' && auth.secrets[0] !== undefined;
  return {
    client,
    describe: `${conn.url.href} (mailbox ${anchor.mailbox}, ${conn.serverVersion})`,
    cliArgs: prompted ? ['--password-stdin'] : [],
    ...(prompted ? { cliStdin: auth.secrets[0] } : {}),
    lastRaw: () => last,
    close: () => http.close(),
  };
}
