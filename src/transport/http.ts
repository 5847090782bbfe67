// HTTP for EWS over undici. The hanging GetStreamingEvents request runs on a connection of its own; every other
// call runs on a second one, so an Unsubscribe or (later) a GetItem never queues behind the 30-minute request
// (ews-protocol.md §8). Every request carries X-AnchorMailbox, X-PreferServerAffinity and the cookie jar (§4.1);
// the hanging one asks for Accept-Encoding: identity (§2.2 point 6). -v logs requests with secrets redacted.

import { Client, errors as undiciErrors } from 'undici';
import type { AuthProvider } from '../auth/types.js';
import { TransportError } from '../errors.js';
import type { Logger } from '../term/logger.js';
import { createCookieJar } from './cookie-jar.js';

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

export interface EwsHttp {
  post(body: string, opts: { operation: string; signal?: AbortSignal }): Promise<HttpResponse>;
  openStream(body: string, opts: { signal: AbortSignal; bodyTimeoutMs: number }): Promise<StreamResponse>;
  close(): Promise<void>;
}

export interface HttpOptions {
  url: URL;
  auth: AuthProvider;
  /** SMTP address of the watched mailbox, for X-AnchorMailbox. */
  anchorMailbox: string;
  logger: Logger;
  now: () => number;
  /** Largest ordinary response body we read; more is an error, not memory. */
  maxBodyBytes?: number;
  userAgent?: string;
}

const DEFAULT_MAX_BODY = 8 * 1024 * 1024;

export function createEwsHttp(opts: HttpOptions): EwsHttp {
  const origin = opts.url.origin;
  const path = `${opts.url.pathname}${opts.url.search}`;
  // One connection each: a Client is a single keep-alive connection.
  const calls = new Client(origin, { pipelining: 1, keepAliveTimeout: 30_000 });
  const stream = new Client(origin, { pipelining: 1, keepAliveTimeout: 4_000 });
  const jar = createCookieJar();
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;

  async function headers(operation: string, hanging: boolean): Promise<Record<string, string>> {
    const h: Record<string, string> = {
      'content-type': 'text/xml; charset=utf-8',
      accept: 'text/xml',
      'user-agent': opts.userAgent ?? 'ews-watch',
      'x-anchormailbox': opts.anchorMailbox,
      'x-preferserveraffinity': 'true',
      authorization: await opts.auth.authorization(),
    };
    if (hanging) h['accept-encoding'] = 'identity';
    const cookie = jar.header(opts.now());
    if (cookie) h.cookie = cookie;
    logRequest(opts.logger, operation, path, h);
    return h;
  }

  function received(operation: string, status: number, h: Record<string, string | string[] | undefined>): void {
    jar.store(h['set-cookie'], opts.now());
    logResponse(opts.logger, operation, status, h);
  }

  return {
    async post(body, { operation, signal }) {
      const h = await headers(operation, false);
      try {
        const res = await calls.request({ method: 'POST', path, headers: h, body, signal, headersTimeout: 120_000, bodyTimeout: 120_000 });
        received(operation, res.statusCode, res.headers);
        return { status: res.statusCode, headers: res.headers, body: await readBounded(res.body, maxBody) };
      } catch (err) {
        throw toTransportError(err, operation, origin);
      }
    },
    async openStream(body, { signal, bodyTimeoutMs }) {
      const h = await headers('GetStreamingEvents', true);
      try {
        const res = await stream.request({ method: 'POST', path, headers: h, body, signal, headersTimeout: 120_000, bodyTimeout: bodyTimeoutMs });
        received('GetStreamingEvents', res.statusCode, res.headers);
        return {
          status: res.statusCode,
          headers: res.headers,
          body: res.body,
          text: () => readBounded(res.body, maxBody),
        };
      } catch (err) {
        throw toTransportError(err, 'GetStreamingEvents', origin);
      }
    },
    async close() {
      await Promise.allSettled([calls.destroy(), stream.destroy()]);
    },
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

export function toTransportError(err: unknown, operation: string, origin: string): Error {
  if (err instanceof TransportError) return err;
  if (err instanceof Error && err.name === 'AbortError') return err;
  const code = (err as { code?: string }).code;
  const why =
    err instanceof undiciErrors.BodyTimeoutError
      ? 'no data arrived in time'
      : err instanceof undiciErrors.HeadersTimeoutError
        ? 'the server did not answer in time'
        : code === 'ECONNREFUSED'
          ? 'connection refused'
          : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
            ? 'host not found'
            : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET'
              ? 'connection reset'
              : err instanceof Error
                ? err.message
                : String(err);
  return new TransportError(`${operation} to ${origin} failed: ${why}`, { cause: err });
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
