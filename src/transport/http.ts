// HTTP for EWS over undici. The hanging GetStreamingEvents request runs on a connection of its own; every other
// call runs on a second one, so an Unsubscribe or a GetItem never queues behind the 30-minute request
// (protocol-notes.md §8); an urgent call (the Unsubscribe on the way out) that finds that one busy takes a third, and
// lookups (GetItem) run on up to LOOKUP_CONNECTIONS more, side by side (§4.3); a gate may bound the exchanges in
// flight across transports (many mailboxes, fleet-transport.ts). Every ordinary call must be answered whole within its deadline, so a server that trickles an answer cannot hold it. Every request carries X-AnchorMailbox, X-PreferServerAffinity and the cookie jar (§4.1);
// the hanging one asks for Accept-Encoding: identity (§2.2 point 6). -v logs requests with secrets redacted.
// Sign-in happens here too: a header per request (Basic, bearer tokens), or for NTLM a handshake per connection,
// redone whenever undici replaces the socket; --auth auto picks the scheme from the first 401.

import { rootCertificates } from 'node:tls';
import type { buildConnector as BuildConnector, Client as UndiciClient, Dispatcher } from 'undici';
import { buildConnector, Client, errors as undiciErrors } from './undici.js';
import { offeredSchemes } from '../auth/auto.js';
import type { AuthProvider, ConnectionHandshake } from '../auth/types.js';
import { AuthError, TransportError } from '../errors.js';
import type { Logger } from '../term/logger.js';
import { secretsSentIn } from '../term/redact.js';
import { createCookieJar, type CookieJar } from './cookie-jar.js';

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface StreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<Uint8Array>;
  /** Reads the rest of the body as text (bounded), for non-200 answers. */
  text(): Promise<string>;
}

export interface PostOptions {
  operation: string;
  signal?: AbortSignal;
  /**
   * Must not wait behind other calls (the Unsubscribe on the way out): when the connection for calls is busy, it
   * goes on a connection of its own (NTLM signs that one in by itself).
   */
  urgent?: boolean;
  /**
   * A lookup that may run beside others (GetItem): it goes on an idle one of the LOOKUP_CONNECTIONS
   * connections kept for lookups (each signs itself in with NTLM), so several are answered at once and none waits
   * behind a sync on the connection for calls.
   */
  lookup?: boolean;
  /** X-AnchorMailbox of this request instead of the transport's (many mailboxes on one transport: fleet-transport.ts). */
  anchor?: string;
}

export interface EwsHttp {
  /** An ordinary call, answered whole within answerTimeoutMs or failed with a TransportError (timedOut). */
  post(body: string, opts: PostOptions): Promise<HttpResponse>;
  openStream(body: string, opts: { signal: AbortSignal; bodyTimeoutMs: number; anchor?: string }): Promise<StreamResponse>;
  /** The scheme in use ('ntlm', 'basic', …); after --auth auto chose, also what the server offered. */
  scheme(): string;
  close(): Promise<void>;
}

export interface TlsOptions {
  /** PEM text of extra trusted CAs (--ca-file), added to Node's own list. */
  ca?: string;
  /** Skip certificate verification (--insecure; the CLI warns on every start). */
  insecure?: boolean;
}

export interface HttpOptions {
  url: URL;
  auth: AuthProvider;
  /**
   * SMTP address of the watched mailbox, for X-AnchorMailbox. A function when it is found only after sign-in (a
   * DOMAIN\user sign-in): until it returns an address, requests go without X-AnchorMailbox and
   * X-PreferServerAffinity, and the server routes them by the signed-in account.
   */
  anchorMailbox: string | (() => string | undefined);
  logger: Logger;
  now: () => number;
  /** Largest ordinary response body we read; more is an error, not memory. */
  maxBodyBytes?: number;
  userAgent?: string;
  tls?: TlsOptions;
  /**
   * How long an ordinary call may take, from sending it to the last byte of its answer, and how long the hanging
   * request may take to answer with its headers (default 120 s).
   */
  answerTimeoutMs?: number;
  /** Test-only (EWS_WATCH_DNS): where to connect instead; the TLS name stays the URL's host. */
  route?: Route;
  /** The cookies to keep and replay (default: a jar of its own); a group's jar keeps its first affinity cookie. */
  jar?: CookieJar;
  /** Connections kept for lookups (default LOOKUP_CONNECTIONS); with 0, lookups go on the connection for calls. */
  lookupConnections?: number;
  /** Admits each exchange (one shared budget of requests in flight for many transports, fleet-transport.ts). */
  gate?: RequestGate;
}

/**
 * A slot for one exchange: taken before it is sent, given back once its answer was read whole (a call) or its body
 * ended (the hanging request). Waiting for a slot ends with the signal.
 */
export interface RequestGate {
  acquire(kind: 'call' | 'stream', signal?: AbortSignal): Promise<() => void>;
}

/** host + port → where to connect instead; undefined: the host is not found. */
export type Route = (host: string, port: number) => { host: string; port: number } | undefined;

const DEFAULT_MAX_BODY = 8 * 1024 * 1024;
/**
 * Connections for lookups. With the hanging request, the connection for calls and the spare, at most six requests
 * are open at once: far within Exchange's 27 concurrent requests per user (EWSMaxConcurrency, protocol-notes.md §4.3),
 * which Outlook and other clients of the same account share, and within the "no more than ten open requests" that
 * Learn "EWS throttling in Exchange" advises clients to keep to.
 */
export const LOOKUP_CONNECTIONS = 3;
export const DEFAULT_ANSWER_TIMEOUT_MS = 120_000;
/** A refusal's body is read to its end (so the connection can carry the next message) but never kept. */
const MAX_REFUSAL_BODY = 256 * 1024;

type Reply = Dispatcher.ResponseData;

/**
 * One keep-alive connection (an undici Client with one socket and no pipelining) and what is known about it.
 * `generation` counts the sockets the Client has opened: NTLM authenticates a socket, so a new one needs a new
 * handshake. `lock` keeps a handshake's messages together when two calls want the same connection.
 */
interface Channel {
  /** For messages: 'calls', 'stream', 'spare', 'lookups 1', … */
  name: string;
  client: UndiciClient;
  generation: number;
  connected: boolean;
  /** The generation whose socket completed an NTLM handshake, or -1. */
  authenticated: number;
  lock: Promise<void>;
  /** Exchanges running or waiting for the lock. */
  users: number;
}

export function createEwsHttp(opts: HttpOptions): EwsHttp {
  const origin = opts.url.origin;
  const path = `${opts.url.pathname}${opts.url.search}`;
  const connect = connectorFor(opts.tls, opts.route);
  const channel = (name: string, keepAliveTimeout: number): Channel => {
    const client = new Client(origin, { pipelining: 1, keepAliveTimeout, ...(connect ? { connect } : {}) });
    const ch: Channel = { name, client, generation: 0, connected: false, authenticated: -1, lock: Promise.resolve(), users: 0 };
    client.on('connect', () => {
      ch.generation += 1;
      ch.connected = true;
    });
    client.on('disconnect', () => {
      ch.connected = false;
    });
    return ch;
  };
  // One connection each, so the hanging request never holds up an Unsubscribe or a GetItem (§8).
  const calls = channel('calls', 30_000);
  const stream = channel('stream', 4_000);
  // Connects only when an urgent call finds `calls` busy (a sync trickling its answer while we shut down).
  const spare = channel('spare', 4_000);
  // Each connects on its first lookup; undici closes it after the keep-alive time without one.
  const lookups = Array.from({ length: opts.lookupConnections ?? LOOKUP_CONNECTIONS }, (_, i) => channel(`lookups ${i + 1}`, 30_000));
  const jar = opts.jar ?? createCookieJar();
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const answerTimeoutMs = opts.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS;
  /** The provider in use; for --auth auto, unknown until the server has said what it accepts. */
  let active: AuthProvider | undefined = opts.auth.choose ? undefined : opts.auth;
  let offered: string[] | undefined;

  function headers(operation: string, hanging: boolean, authorization: string | undefined, anchorOfRequest?: string): Record<string, string> {
    const anchor = anchorOfRequest ?? (typeof opts.anchorMailbox === 'function' ? opts.anchorMailbox() : opts.anchorMailbox);
    const h: Record<string, string> = {
      'content-type': 'text/xml; charset=utf-8',
      accept: 'text/xml',
      'user-agent': opts.userAgent ?? 'ews-watch',
      ...(anchor ? { 'x-anchormailbox': anchor, 'x-preferserveraffinity': 'true' } : {}),
    };
    if (authorization !== undefined) h.authorization = authorization;
    if (hanging) h['accept-encoding'] = 'identity';
    const cookie = jar.header(opts.now());
    if (cookie) h.cookie = cookie;
    return h;
  }

  interface Send {
    operation: string;
    body: string;
    signal?: AbortSignal;
    bodyTimeout: number;
    anchor?: string;
  }

  /** One HTTP exchange on a channel, logged with secrets redacted. */
  async function raw(ch: Channel, s: Send, authorization: string | undefined, body = s.body): Promise<Reply> {
    const hanging = ch.name === 'stream';
    const h = headers(s.operation, hanging, authorization, s.anchor);
    // Known before it leaves: a server (or proxy) may echo it back in text that we print.
    for (const [value, kind] of secretsSentIn(h)) opts.logger.addSecret(value, kind);
    logRequest(opts.logger, s.operation, path, h);
    try {
      const res = await ch.client.request({ method: 'POST', path, headers: h, body, signal: s.signal, headersTimeout: answerTimeoutMs, bodyTimeout: s.bodyTimeout });
      jar.store(res.headers['set-cookie'], opts.now());
      logResponse(opts.logger, s.operation, res.statusCode, res.headers);
      return res;
    } catch (err) {
      throw toTransportError(err, s.operation, origin, { answerTimeoutMs, bodyTimeoutMs: s.bodyTimeout });
    }
  }

  /** Reads a refusal to its end, so the same connection can carry the next message of a handshake. */
  async function drain(res: Reply): Promise<void> {
    await readBounded(res.body, MAX_REFUSAL_BODY).catch(() => '');
  }

  /** NTLM: reuse the connection's authentication while its socket lives; otherwise (or on a 401) shake hands. */
  async function viaHandshake(ch: Channel, s: Send, hs: ConnectionHandshake): Promise<Reply> {
    if (ch.connected && ch.authenticated === ch.generation) {
      const res = await raw(ch, s, undefined);
      if (res.statusCode !== 401) return res;
      await drain(res);
      opts.logger.debug(`auth: the ${ch.name} connection lost its NTLM sign-in; signing in again`);
    }
    // Type 1 carries no body: the server refuses it unread, and a 30-minute request must not be sent twice.
    const first = await raw(ch, { ...s, operation: `${s.operation}, NTLM negotiate` }, hs.negotiate(), '');
    if (first.statusCode !== 401) {
      // No challenge: the server let the (empty) negotiate through; send the real request as it is.
      await drain(first);
      return raw(ch, s, undefined);
    }
    const challenge = first.headers['www-authenticate'];
    await drain(first);
    const generation = ch.generation;
    const answer = hs.authenticate(challenge);
    const res = await raw(ch, s, answer);
    if (res.statusCode === 401 && ch.generation !== generation) {
      await drain(res);
      throw new AuthError(
        `${s.operation}: the connection was closed in the middle of the NTLM handshake; NTLM needs one keep-alive connection from ews-watch to Exchange (a proxy or load balancer in between may be closing it)`,
        { status: 401 },
      );
    }
    if (res.statusCode !== 401) {
      ch.authenticated = ch.generation;
      opts.logger.debug(`auth: NTLM sign-in done on the ${ch.name} connection`);
    }
    return res;
  }

  /** Sends with whatever the configured scheme needs; --auth auto first learns what the server offers. */
  async function send(ch: Channel, s: Send): Promise<Reply> {
    if (!active) {
      const res = await raw(ch, s, undefined);
      if (res.statusCode !== 401) return res;
      const offers = offeredSchemes(res.headers['www-authenticate']);
      await drain(res);
      offered = offers;
      const choice = await opts.auth.choose!(offers, opts.url);
      active = choice.provider;
      for (const secret of active.secrets) opts.logger.addSecret(secret);
      opts.logger.debug(`auth: ${choice.why}`);
    }
    if (active.handshake) return viaHandshake(ch, s, active.handshake);
    return raw(ch, s, await active.authorization());
  }

  /** Runs one exchange at a time per channel: an NTLM handshake's messages must not interleave with another's. */
  async function exclusive<T>(ch: Channel, work: () => Promise<T>): Promise<T> {
    const previous = ch.lock;
    let release!: () => void;
    ch.lock = new Promise<void>((r) => (release = r));
    ch.users += 1;
    try {
      await previous;
      return await work();
    } finally {
      ch.users -= 1;
      release();
    }
  }

  /**
   * One ordinary exchange, bounded as a whole: undici's timeouts only bound the silence between bytes, so an answer
   * that trickles a byte now and then would otherwise hold the connection (and every call behind it) for ever.
   */
  async function bounded(ch: Channel, body: string, operation: string, signal: AbortSignal | undefined, anchor?: string): Promise<HttpResponse> {
    // One controller for the caller's stop and the deadline (a listener removed at the end, so a long-lived caller
    // signal collects nothing per call).
    const stop = new AbortController();
    let late = false;
    const timer = setTimeout(() => ((late = true), stop.abort()), answerTimeoutMs);
    const onStop = (): void => stop.abort(signal?.reason);
    if (signal?.aborted) onStop();
    else signal?.addEventListener('abort', onStop, { once: true });
    let answered = false;
    try {
      // send() already turns network errors into ours; others (a sign-in that cannot be done) pass as they are.
      const res = await send(ch, { operation, body, signal: stop.signal, bodyTimeout: answerTimeoutMs, ...(anchor ? { anchor } : {}) });
      answered = true;
      try {
        return { status: res.statusCode, headers: res.headers, body: await readBounded(res.body, maxBody) };
      } catch (err) {
        throw toTransportError(err, operation, origin, { answerTimeoutMs, bodyTimeoutMs: answerTimeoutMs });
      }
    } catch (err) {
      if (late && !signal?.aborted) throw deadlineError(operation, origin, answerTimeoutMs, answered, err);
      throw err;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onStop);
    }
  }

  /** An idle lookup connection, one whose socket is open (and signed in) first; else the least busy one. */
  function lookupChannel(): Channel {
    const idle = lookups.filter((ch) => ch.users === 0);
    return idle.find((ch) => ch.connected) ?? idle[0] ?? lookups.reduce((a, b) => (b.users < a.users ? b : a));
  }

  /**
   * A call with its slot of the gate, taken once the connection is free (so a call queued behind another on the same
   * connection holds no slot) and given back when its answer was read whole.
   */
  async function gated(ch: Channel, body: string, operation: string, signal: AbortSignal | undefined, anchor: string | undefined): Promise<HttpResponse> {
    const release = await opts.gate?.acquire('call', signal);
    try {
      return await bounded(ch, body, operation, signal, anchor);
    } finally {
      release?.();
    }
  }

  /** The hanging request holds its slot while its body is open: until it ends, fails, or `signal` aborts it. */
  async function hanging(s: Send): Promise<Reply> {
    const release = await opts.gate?.acquire('stream', s.signal);
    if (!release) return send(stream, s);
    let held = true;
    const done = (): void => {
      if (!held) return;
      held = false;
      s.signal?.removeEventListener('abort', done);
      release();
    };
    s.signal?.addEventListener('abort', done, { once: true });
    try {
      const res = await send(stream, s);
      res.body.once('close', done);
      return res;
    } catch (err) {
      done();
      throw err;
    }
  }

  return {
    post(body, { operation, signal, urgent, lookup, anchor }) {
      if (lookup && !urgent && lookups.length > 0) {
        const ch = lookupChannel();
        return exclusive(ch, () => gated(ch, body, operation, signal, anchor));
      }
      const ch = urgent && calls.users > 0 ? spare : calls;
      if (ch === spare) opts.logger.debug(`${operation}: the connection for calls is busy; sending it on a connection of its own`);
      return exclusive(ch, () => gated(ch, body, operation, signal, anchor));
    },
    openStream(body, { signal, bodyTimeoutMs, anchor }) {
      // The lock covers the handshake and the response headers; the body then streams on its own.
      return exclusive(stream, async () => {
        const res = await hanging({ operation: 'GetStreamingEvents', body, signal, bodyTimeout: bodyTimeoutMs, ...(anchor ? { anchor } : {}) });
        return { status: res.statusCode, headers: res.headers, body: res.body, text: () => readBounded(res.body, maxBody) };
      });
    },
    scheme: () => (active && offered ? `${active.scheme} (chosen by --auth auto; the server offers ${offered.join(', ')})` : (active ?? opts.auth).scheme),
    async close() {
      await Promise.allSettled([calls, stream, spare, ...lookups].map((ch) => ch.client.destroy()));
    },
  };
}

/** undici's connect options for --ca-file and --insecure, or undefined for Node's defaults. */
function connectOptions(tls: TlsOptions | undefined): { ca?: string[]; rejectUnauthorized?: boolean } | undefined {
  if (!tls?.ca && !tls?.insecure) return undefined;
  return {
    // An explicit list replaces Node's, so the public roots go in too (Exchange Online and internal servers both work).
    ...(tls.ca ? { ca: [...rootCertificates, tls.ca] } : {}),
    ...(tls.insecure ? { rejectUnauthorized: false } : {}),
  };
}

/** connectOptions, and with a test route a connector that dials the routed address under the original name. */
export function connectorFor(tls: TlsOptions | undefined, route: Route | undefined): ReturnType<typeof connectOptions> | BuildConnector.connector {
  const options = connectOptions(tls);
  if (!route) return options;
  const base = buildConnector({ ...(options ?? {}) });
  return (o, callback) => {
    const to = route(o.hostname, Number(o.port) || (o.protocol === 'https:' ? 443 : 80));
    if (!to) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${o.hostname}`), { code: 'ENOTFOUND' }), null);
    return base({ ...o, hostname: to.host, port: String(to.port), servername: o.servername ?? o.hostname }, callback);
  };
}

async function readBounded(body: AsyncIterable<Uint8Array> & { destroy?: () => void }, max: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) {
      body.destroy?.();
      throw new TransportError(`the server sent a response larger than ${Math.round(max / 1048576)} MiB; giving up on it`);
    }
    parts.push(Buffer.from(chunk));
  }
  return Buffer.concat(parts).toString('utf8');
}

const seconds = (ms: number | undefined): string => (ms === undefined ? '' : ` within ${ms % 1000 === 0 ? ms / 1000 : (ms / 1000).toFixed(1)} s`);

/** An ordinary call that ran out its deadline: before its headers came, or while its body still trickled in. */
function deadlineError(operation: string, origin: string, ms: number, answered: boolean, cause: unknown): TransportError {
  const message = answered
    ? `${operation}: ${origin} did not send its whole answer${seconds(ms)} (it was still arriving); giving up on it`
    : `${operation}: ${origin} accepted the connection but sent no answer${seconds(ms)}`;
  return new TransportError(message, { cause, timedOut: true });
}

/** undici's and the socket's errors as one line that says what happened (and, for timeouts, after how long). */
export function toTransportError(err: unknown, operation: string, origin: string, limits: { answerTimeoutMs?: number; bodyTimeoutMs?: number } = {}): Error {
  if (err instanceof TransportError) return err;
  if (err instanceof Error && err.name === 'AbortError') return err;
  const code = (err as { code?: string }).code;
  const message =
    err instanceof undiciErrors.HeadersTimeoutError
      ? `${operation}: ${origin} accepted the connection but sent no answer${seconds(limits.answerTimeoutMs)}`
      : err instanceof undiciErrors.BodyTimeoutError
        ? `${operation}: ${origin} stopped sending its answer (nothing arrived${seconds(limits.bodyTimeoutMs)})`
        : code === 'ECONNREFUSED'
          ? `${operation}: cannot reach ${origin}: connection refused`
          : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
            ? `${operation}: cannot reach ${origin}: host not found`
            : code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT'
              ? `${operation}: cannot reach ${origin}: no answer to the connection attempt`
              : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET'
                ? `${operation}: the connection to ${origin} was reset`
                : `${operation} to ${origin} failed: ${err instanceof Error ? err.message : String(err)}`;
  const timedOut = err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError;
  return new TransportError(message, { cause: err, ...(timedOut ? { timedOut } : {}) });
}

function logRequest(log: Logger, operation: string, path: string, h: Record<string, string>): void {
  if (log.verbosity < 1) return;
  log.debug(`> POST ${path} (${operation})`);
  for (const [k, v] of Object.entries(h)) log.debug(`> ${k}: ${v}`);
}

function logResponse(log: Logger, operation: string, status: number, h: Record<string, string | string[] | undefined>): void {
  if (log.verbosity < 1) return;
  log.debug(`< ${status} (${operation})`);
  for (const [k, v] of Object.entries(h)) {
    for (const one of Array.isArray(v) ? v : [v ?? '']) log.debug(`< ${k}: ${one}`);
  }
}
