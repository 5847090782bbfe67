// What a reverse proxy or load balancer in front of Exchange does to the traffic, as the `proxy` simulator option
// asks: hold a response back until it ends, cut a connection that carried no byte for a while, strip cookies.
// Applied to each request before the simulated Exchange sees it; it changes the request and wraps the response.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProxyBehaviour } from './types.js';

/**
 * nginx's proxy_buffers default to 8 buffers of one memory page (4 or 8 KiB): a buffering proxy passes bytes on
 * once that much is held, or when the response ends. A stream of heartbeats and a single event is far smaller.
 */
export const DEFAULT_FLUSH_BYTES = 64 * 1024;

export interface FrontDoorOptions {
  proxy: ProxyBehaviour;
  /** One simulated minute: the default idle timeout is 60 simulated seconds. */
  minuteMs: number;
  log(line: string): void;
}

type Write = (chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;
type End = (chunk?: unknown, encoding?: unknown, cb?: unknown) => ServerResponse;

/** Returns what to do to each request and its response; undefined when no proxy behaviour was asked for. */
export function createFrontDoor(o: FrontDoorOptions): ((req: IncomingMessage, res: ServerResponse) => void) | undefined {
  const { proxy } = o;
  const idleMs = proxy.idleTimeoutMs === true ? o.minuteMs : proxy.idleTimeoutMs;
  const flushBytes = proxy.buffering === true ? DEFAULT_FLUSH_BYTES : proxy.buffering ? proxy.buffering.flushBytes : undefined;
  const strip = proxy.stripCookies;
  if (idleMs === undefined && flushBytes === undefined && strip === undefined) return undefined;
  return (req, res) => {
    if (strip === 'requests' || strip === 'both') stripRequestCookies(req);
    if (strip === 'answers' || strip === 'both') stripSetCookie(res);
    // The idle watch sees the bytes that leave the proxy, so it goes under the buffering.
    if (idleMs !== undefined) cutWhenIdle(res, idleMs, o.log);
    if (flushBytes !== undefined) holdBody(res, flushBytes);
  };
}

/** A balancer that forwards no Cookie header: the backend never sees X-BackEndOverrideCookie. */
function stripRequestCookies(req: IncomingMessage): void {
  for (let i = req.rawHeaders.length - 2; i >= 0; i -= 2) {
    if (req.rawHeaders[i]!.toLowerCase() === 'cookie') req.rawHeaders.splice(i, 2);
  }
  delete req.headers.cookie;
}

/** A proxy that drops Set-Cookie from answers (nginx `proxy_hide_header Set-Cookie`, or a cookie-filtering WAF). */
function stripSetCookie(res: ServerResponse): void {
  const writeHead = res.writeHead.bind(res) as (status: number, ...rest: unknown[]) => ServerResponse;
  const setHeader = res.setHeader.bind(res);
  res.setHeader = ((name: string, value: number | string | readonly string[]) => (name.toLowerCase() === 'set-cookie' ? res : setHeader(name, value))) as typeof res.setHeader;
  res.writeHead = ((status: number, ...rest: unknown[]) => {
    const args = rest.map((a) => (a !== null && typeof a === 'object' && !Array.isArray(a) ? withoutSetCookie(a as Record<string, unknown>) : a));
    return writeHead(status, ...args);
  }) as typeof res.writeHead;
}

function withoutSetCookie(headers: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'set-cookie'));
}

/**
 * An idle timeout: no byte for `idleMs` and the connection goes. Before the answer's head that is a 504 Gateway
 * Timeout (nginx and AWS ALB both answer so); after it, the socket is closed in the middle of the chunked body.
 */
function cutWhenIdle(res: ServerResponse, idleMs: number, log: (line: string) => void): void {
  let timer: NodeJS.Timeout | undefined;
  const cut = (): void => {
    if (res.destroyed || res.writableEnded) return;
    log(`proxy: no byte for ${idleMs} ms: connection cut`);
    if (res.headersSent) return void res.destroy();
    res.writeHead(504, { 'Content-Type': 'text/html', Connection: 'close' });
    res.end('<html><head><title>504 Gateway Time-out</title></head><body><center><h1>504 Gateway Time-out</h1></center></body></html>');
  };
  const kick = (): void => {
    clearTimeout(timer);
    timer = setTimeout(cut, idleMs);
    timer.unref();
  };
  const stop = (): void => clearTimeout(timer);
  const write = res.write.bind(res) as Write;
  const flushHeaders = res.flushHeaders.bind(res);
  res.write = ((chunk: unknown, encoding?: unknown, cb?: unknown) => {
    if (sizeOf(chunk) > 0) kick();
    return write(chunk, encoding, cb);
  }) as typeof res.write;
  res.flushHeaders = () => {
    kick();
    flushHeaders();
  };
  res.once('finish', stop);
  res.once('close', stop);
  kick();
}

/** Response buffering: the body is held until it ends or `flushBytes` are held; the head passes at once. */
function holdBody(res: ServerResponse, flushBytes: number): void {
  const write = res.write.bind(res) as Write;
  const end = res.end.bind(res) as End;
  let held: Buffer[] = [];
  let size = 0;
  const release = (): void => {
    if (size === 0) return;
    const data = Buffer.concat(held);
    held = [];
    size = 0;
    write(data);
  };
  const hold = (chunk: unknown, encoding: unknown): void => {
    if (sizeOf(chunk) === 0) return;
    const data = typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : Buffer.from(chunk as Uint8Array);
    held.push(data);
    size += data.length;
  };
  res.write = ((chunk: unknown, encoding?: unknown, cb?: unknown) => {
    hold(chunk, encoding);
    if (size >= flushBytes) release();
    const callback = typeof encoding === 'function' ? encoding : cb;
    if (typeof callback === 'function') process.nextTick(callback as () => void);
    // Always "taken": the proxy reads the backend as fast as it writes.
    return true;
  }) as typeof res.write;
  res.end = ((chunk?: unknown, encoding?: unknown, cb?: unknown) => {
    if (typeof chunk === 'function') return release(), end(chunk);
    hold(chunk, encoding);
    release();
    return end(typeof encoding === 'function' ? encoding : cb);
  }) as typeof res.end;
}

function sizeOf(chunk: unknown): number {
  if (typeof chunk === 'string' || chunk instanceof Uint8Array) return chunk.length;
  return 0;
}
