// The HTTP transport and the EWS client for one run, shared by watching and `check`: TLS from --ca-file and
// --insecure, X-AnchorMailbox, secrets registered with the logger, and the mailbox found after sign-in when only
// a DOMAIN\user was given.

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { findMailbox, type FoundMailbox } from '../auth/find-mailbox.js';
import type { AuthProvider } from '../auth/types.js';
import { UsageError } from '../errors.js';
import type { ServerVersionInfo } from '../ews/types.js';
import type { Logger } from '../term/logger.js';
import { createEwsClient } from '../transport/ews-client.js';
import { DEFAULT_ANSWER_TIMEOUT_MS, createEwsHttp, type EwsHttp, type TlsOptions } from '../transport/http.js';
import type { EwsClient } from '../ews/client.js';
import type { ConnectionSettings, MailboxConnection, WatchSettings } from './config.js';
import { describeVersion } from './server-version.js';

export type RunClient = EwsClient;

export interface ClientOptions {
  onServerVersion?: (v: ServerVersionInfo) => void;
  answerTimeoutMs?: number;
  /** An existing transport to send on (check --live's stream shares the calls' connections and cookie jar). */
  http?: EwsHttp;
  /** Wraps the transport made here (the conformance run keeps each raw answer for its report). */
  wrapHttp?: (http: EwsHttp) => EwsHttp;
}

/** The HTTP transport and the EWS client for one run, shared by watching, `check` and the conformance run. */
export function createClientFor(
  conn: ConnectionSettings,
  auth: AuthProvider,
  settings: Pick<WatchSettings, 'folders' | 'events'>,
  logger: Logger,
  o: ClientOptions = {},
): { http: EwsHttp; client: RunClient; anchor: { mailbox?: string } } {
  for (const s of auth.secrets) logger.addSecret(s);
  // X-AnchorMailbox: the mailbox once it is known (a DOMAIN\user sign-in finds it after signing in).
  const anchor = { mailbox: conn.mailbox };
  const answerTimeoutMs = o.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS;
  const made = o.http ?? createEwsHttp({ url: conn.url, auth, anchorMailbox: () => anchor.mailbox, logger, now: () => Date.now(), tls: tlsFor(conn, logger), answerTimeoutMs });
  const http = o.wrapHttp ? o.wrapHttp(made) : made;
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
    onServerVersion: (v) => {
      logger.debug(`server version: ${describeVersion(v)}`);
      o.onServerVersion?.(v);
    },
  });
  return { http, client, anchor };
}

/**
 * createClientFor, and the mailbox: --mailbox or an SMTP user name as given, else found from the server after
 * signing in (src/auth/find-mailbox.ts), before anything else uses it (X-AnchorMailbox, the state directory,
 * events). Undefined when `signal` stopped the run meanwhile.
 */
export async function connectMailbox(
  given: ConnectionSettings,
  auth: AuthProvider,
  settings: Pick<WatchSettings, 'folders' | 'events'>,
  logger: Logger,
  signal: AbortSignal | undefined,
  answerTimeoutMs: number,
): Promise<{ http: EwsHttp; client: RunClient; conn: MailboxConnection } | undefined> {
  const { http, client, anchor } = createClientFor(given, auth, settings, logger, { answerTimeoutMs });
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
export function tlsFor(conn: Pick<ConnectionSettings, 'insecure' | 'caFile'>, logger: Logger): TlsOptions | undefined {
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
