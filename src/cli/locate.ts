// No --url: the EWS URL from the autodiscover cache (a day old at most, src/state/autodiscover-cache.ts) or from
// autodiscover itself (src/autodiscover/flow.ts), with the real HTTP (undici, signed in as the run signs in, TLS
// from --ca-file) and DNS wired in. A cached URL that no longer answers as EWS is discovered again, once.

import { resolveSrv } from 'node:dns/promises';
import { Client } from '../transport/undici.js';
import { discover, type AutodiscoverDeps, type Discovered, type SrvRecord } from '../autodiscover/flow.js';
import { discoverMany } from '../autodiscover/many.js';
import type { Located } from '../fleet/grouping.js';
import type { AuthProvider } from '../auth/types.js';
import { TransportError, UsageError } from '../errors.js';
import { readCachedServer, writeCachedServer, type CachedServer } from '../state/autodiscover-cache.js';
import type { Logger } from '../term/logger.js';
import { connectorFor, createEwsHttp, toTransportError, type EwsHttp, type Route, type TlsOptions } from '../transport/http.js';
import type { Tuning } from './command-config.js';
import { isLocated, type ConfiguredConnection, type ConnectionSettings } from './config.js';
import { createClientFor, readCaFile } from './connect.js';

/** The test seam (EWS_WATCH_DNS, not documented): host:port → 127.0.0.1:port, and SRV answers; nothing else resolves. */
export interface TestDns {
  route: Route;
  srv: (name: string) => SrvRecord[];
}

export interface LocateOptions {
  /** Where the cache lives; undefined: neither read nor written (--since now, `check`). */
  cacheDir: string | undefined;
  tuning: Tuning;
  signal?: AbortSignal;
  now?: () => Date;
}

/** Before sign-in: the cached URL, if any, so that the stored password (kept per server) can be found. */
export async function withCachedServer(conn: ConfiguredConnection, o: LocateOptions, logger: Logger): Promise<ConfiguredConnection> {
  if (conn.url !== undefined || conn.autodiscover === undefined || o.cacheDir === undefined) return conn;
  const cached = await readCachedServer(o.cacheDir, conn.autodiscover.address, (o.now ?? (() => new Date()))());
  if (cached === undefined) return conn;
  logger.debug(`autodiscover: using the URL found at ${cached.foundAt} (${cached.via}): ${cached.ewsUrl}`);
  return Object.freeze({ ...conn, url: new URL(cached.ewsUrl), autodiscover: Object.freeze({ ...conn.autodiscover, cached }) });
}

/** The connection with its URL: as given, from the cache (checked with one GetFolder), or found by autodiscover. */
export async function locateServer(conn: ConfiguredConnection, auth: AuthProvider, logger: Logger, o: LocateOptions): Promise<ConnectionSettings> {
  const ad = conn.autodiscover as (ConnectionSettings['autodiscover'] & { cached?: CachedServer }) | undefined;
  if (isLocated(conn)) return conn;
  if (ad === undefined) throw new UsageError('no EWS URL: pass --url https://mail.example.com/EWS/Exchange.asmx or set EWS_URL');
  if (conn.url !== undefined && ad.cached !== undefined) {
    const failure = await probe(conn as ConnectionSettings, auth, logger, o);
    if (failure === undefined) return conn as ConnectionSettings;
    logger.debug(`autodiscover: the cached URL ${conn.url.href} failed (${failure}); discovering again`);
  }
  const found = await runDiscovery(conn, auth, logger, o);
  logger.debug(`autodiscover: ${ad.address} → ${found.ewsUrl} (from ${found.via})`);
  if (o.cacheDir !== undefined) {
    const entry: CachedServer = { ewsUrl: found.ewsUrl, via: found.via, foundAt: (o.now ?? (() => new Date()))().toISOString(), ...(found.groupingInformation ? { groupingInformation: found.groupingInformation } : {}) };
    await writeCachedServer(o.cacheDir, ad.address, entry).catch((err: unknown) => {
      if (err instanceof UsageError) throw err; // a link where the cache should be: refused, as every state file
      logger.warn(`cannot keep the autodiscover answer in ${o.cacheDir}: ${(err as Error).message}; the next start asks again`);
    });
  }
  return Object.freeze({ ...conn, url: new URL(found.ewsUrl) }) as ConnectionSettings;
}

/** One GetFolder at the cached URL: undefined when it answers as EWS, else why not (a network error, not EWS). */
async function probe(conn: ConnectionSettings, auth: AuthProvider, logger: Logger, o: LocateOptions): Promise<string | undefined> {
  const settings = { folders: { kind: 'all' as const }, events: [], heartbeatTimeoutMs: 60_000 };
  // Quiet: watching makes its own client next, with the --insecure warning and the -v request lines.
  const { http, client } = createClientFor(conn, auth, settings, quietLogger(logger), { answerTimeoutMs: o.tuning.answerTimeoutMs });
  try {
    await client.rootFolder(o.signal);
    return undefined;
  } catch (err) {
    // A refusal of the credentials or an EWS error means the URL is right: let watching report it as usual.
    if (err instanceof TransportError) return err.message;
    return undefined;
  } finally {
    await http.close();
  }
}

/** What locateMany found: the mailboxes with their URL, in the order asked, and those autodiscover could not place. */
export interface LocatedMany {
  located: Located[];
  failed: Array<{ address: string; reason: string; refused?: true }>;
}

/**
 * Many mailboxes without --url: each one's EWS URL and GroupingInformation from the cache (a day old at most) or
 * from batched GetUserSettings (src/autodiscover/many.ts); one mailbox's failure is its own, never a throw.
 */
export async function locateMany(conn: ConfiguredConnection, auth: AuthProvider, logger: Logger, o: LocateOptions, addresses: readonly string[]): Promise<LocatedMany> {
  const now = (o.now ?? (() => new Date()))();
  const found = new Map<string, Located>();
  const ask: string[] = [];
  for (const address of addresses) {
    const cached = o.cacheDir === undefined ? undefined : await readCachedServer(o.cacheDir, address, now).catch(() => undefined);
    if (cached) found.set(address, locatedOf(address, cached.ewsUrl, cached.groupingInformation));
    else ask.push(address);
  }
  const failed: LocatedMany['failed'] = [];
  if (ask.length > 0) {
    logger.debug(`autodiscover: asking for ${ask.length} of ${addresses.length} mailboxes (the others from the cache)`);
    const wiring = createDeps(conn, auth, logger, o, ask[0]!);
    try {
      const results = await discoverMany(wiring.deps, { addresses: ask, allowedDomains: conn.autodiscover?.allowedDomains ?? [] });
      for (const [address, r] of results) {
        if (!r.ok) {
          failed.push({ address, reason: r.reason, ...(r.refused ? { refused: true as const } : {}) });
          continue;
        }
        found.set(address, locatedOf(address, r.ewsUrl, r.groupingInformation));
        const entry: CachedServer = { ewsUrl: r.ewsUrl, via: r.via, foundAt: now.toISOString(), ...(r.groupingInformation ? { groupingInformation: r.groupingInformation } : {}) };
        if (o.cacheDir !== undefined) await writeCachedServer(o.cacheDir, address, entry).catch((err: unknown) => logger.debug(`autodiscover: not cached for ${address}: ${(err as Error).message}`));
      }
    } finally {
      await wiring.close();
    }
  }
  return { located: addresses.flatMap((a) => found.get(a) ?? []), failed };
}

function locatedOf(address: string, ewsUrl: string, groupingInformation: string | undefined): Located {
  return groupingInformation ? { address, ewsUrl, groupingInformation } : { address, ewsUrl };
}

async function runDiscovery(conn: ConfiguredConnection, auth: AuthProvider, logger: Logger, o: LocateOptions): Promise<Discovered> {
  const ad = conn.autodiscover!;
  const wiring = createDeps(conn, auth, logger, o, ad.address);
  try {
    return await discover(wiring.deps, { address: ad.address, allowedDomains: ad.allowedDomains });
  } finally {
    await wiring.close();
  }
}

/** The real HTTP and DNS for the flow: one transport per endpoint (NTLM signs in per connection), closed at the end. */
function createDeps(conn: ConfiguredConnection, auth: AuthProvider, logger: Logger, o: LocateOptions, address: string): { deps: AutodiscoverDeps; close(): Promise<void> } {
  const dns = parseTestDns(o.tuning.testDns);
  const tls: TlsOptions | undefined = conn.caFile !== undefined || conn.insecure ? { ...(conn.caFile ? { ca: readCaFile(conn.caFile) } : {}), ...(conn.insecure ? { insecure: true } : {}) } : undefined;
  // The transport's own -v lines (every header) would bury the one line per place this flow writes.
  const quiet = quietLogger(logger);
  const open = new Map<string, EwsHttp>();
  const transportFor = (url: URL): EwsHttp => {
    let http = open.get(url.href);
    if (!http) {
      http = createEwsHttp({ url, auth, anchorMailbox: address, logger: quiet, now: () => Date.now(), tls, answerTimeoutMs: o.tuning.answerTimeoutMs, ...(dns ? { route: dns.route } : {}) });
      open.set(url.href, http);
    }
    return http;
  };
  const deps: AutodiscoverDeps = {
    async post(url, body, protocol) {
      const operation = `autodiscover (${protocol})`;
      const res = await transportFor(url)
        .post(body, { operation, ...(o.signal ? { signal: o.signal } : {}) })
        .catch((err: unknown) => Promise.reject(bare(err, operation)));
      return { status: res.status, body: res.body, ...locationOf(res.headers) };
    },
    get: (url) => plainGet(url, dns?.route, o.tuning.answerTimeoutMs),
    resolveSrv: async (name) => (dns ? dns.srv(name) : resolveSrv(name)),
    log: (line) => logger.debug(line),
  };
  return { deps, close: async () => void (await Promise.allSettled([...open.values()].map((h) => h.close()))) };
}

/** The flow names the place itself: the transport's "<operation>: " prefix would say it twice. */
function bare(err: unknown, operation: string): unknown {
  if (!(err instanceof TransportError) || !err.message.startsWith(`${operation}: `)) return err;
  return new TransportError(err.message.slice(operation.length + 2), { cause: err });
}

/** Secrets still registered with (and redacted by) the run's logger; nothing printed. */
function quietLogger(logger: Logger): Logger {
  const none = (): void => undefined;
  return { verbosity: 0, addSecret: (secret, kind) => logger.addSecret(secret, kind), debug: none, info: none, warn: none, error: none, redact: (text) => logger.redact(text) };
}

function locationOf(headers: Record<string, string | string[] | undefined>): { location?: string } {
  const v = headers.location;
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? {} : { location: one };
}

/** The unauthenticated GET of the plain-http step: no credentials, redirects not followed, the body thrown away. */
async function plainGet(url: URL, route: Route | undefined, timeoutMs: number): Promise<{ status: number; location?: string }> {
  const connect = connectorFor(undefined, route);
  const client = new Client(url.origin, connect ? { connect } : {});
  try {
    const res = await client.request({ method: 'GET', path: url.pathname, headers: { 'user-agent': 'ews-watch' }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    return { status: res.statusCode, ...locationOf(res.headers) };
  } catch (err) {
    throw bare(toTransportError(err, 'GET', url.origin), 'GET');
  } finally {
    await client.destroy().catch(() => undefined);
  }
}

/** EWS_WATCH_DNS: {"hosts": {"contoso.test:443": "127.0.0.1:4431"}, "srv": {"_autodiscover._tcp.contoso.test": [...]}}. */
export function parseTestDns(text: string | undefined): TestDns | undefined {
  if (text === undefined) return undefined;
  let v: { hosts?: Record<string, string>; srv?: Record<string, SrvRecord[]> };
  try {
    v = JSON.parse(text) as typeof v;
  } catch {
    throw new UsageError('EWS_WATCH_DNS is not JSON');
  }
  const hosts = new Map(Object.entries(v.hosts ?? {}).map(([k, to]) => [k.toLowerCase(), to]));
  return {
    route: (host, port) => {
      const to = hosts.get(`${host.toLowerCase()}:${port}`);
      if (to === undefined) return /^\d+\.\d+\.\d+\.\d+$/.test(host) ? { host, port } : undefined;
      const colon = to.lastIndexOf(':');
      return { host: to.slice(0, colon), port: Number(to.slice(colon + 1)) };
    },
    srv: (name) => {
      const records = v.srv?.[name.toLowerCase()];
      if (records === undefined) throw Object.assign(new Error(`querySrv ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
      return records;
    },
  };
}
