// Writing HTTP answers the way an Exchange front end (IIS) does: its identifying headers, text/xml bodies,
// gzip when the client accepts it (never on the stream), and the chunked GetStreamingEvents head (protocol-notes.md §2.2).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Split } from './types.js';

export const XML_CONTENT_TYPE = 'text/xml; charset=utf-8';

export function frontEndHeaders(backendHost: string): Record<string, string> {
  const short = backendHost.split('.')[0]!.toUpperCase();
  return {
    Server: 'Microsoft-IIS/10.0',
    'request-id': randomUUID(),
    'X-CalculatedBETarget': backendHost.toLowerCase(),
    'X-DiagInfo': short,
    'X-BEServer': short,
    'X-FEServer': short,
    'X-AspNet-Version': '4.0.30319',
    'X-Powered-By': 'ASP.NET',
  };
}

export interface ReplyOptions {
  backendHost: string;
  compress: boolean;
  /** Write ordinary answers in pieces on a chunked body (tests of a client's decoder); default: whole, with Content-Length. */
  split?: Split;
  /** Pause between the pieces (default 5 ms). */
  pauseMs?: number;
}

/** Cuts bytes into pieces: the given sizes (the rest goes last), or one byte per piece. */
export function splitBytes(data: string | Buffer, split: Split): Buffer[] {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const sizes = split === 'bytes' ? [] : split;
  const pieces: Buffer[] = [];
  let at = 0;
  for (const size of sizes) {
    if (at >= bytes.length) break;
    pieces.push(bytes.subarray(at, Math.min(bytes.length, at + Math.max(1, size))));
    at += Math.max(1, size);
  }
  if (split === 'bytes') for (; at < bytes.length; at++) pieces.push(bytes.subarray(at, at + 1));
  else if (at < bytes.length) pieces.push(bytes.subarray(at));
  return pieces;
}

/**
 * Writes the pieces one by one with a pause between them, so they leave as separate HTTP chunks. The pauses do not
 * keep the process alive: once the server is closed, the response is destroyed and the rest is never written.
 */
function writePieces(res: ServerResponse, pieces: Buffer[], pauseMs: number): void {
  const next = (i: number): void => {
    if (res.destroyed) return;
    if (i >= pieces.length) return void res.end();
    res.write(pieces[i]);
    setTimeout(() => next(i + 1), pauseMs).unref();
  };
  next(0);
}

function acceptsGzip(req: IncomingMessage): boolean {
  return (req.headers['accept-encoding'] ?? '').split(',').some((part) => {
    const [name, ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return name === 'gzip' && (q === undefined || Number(q.slice(2)) > 0);
  });
}

/** A complete (non-streaming) answer; `headers` may add Set-Cookie and the like. */
export function reply(
  req: IncomingMessage,
  res: ServerResponse,
  opts: ReplyOptions,
  status: number,
  body: string,
  headers: Record<string, string | string[]> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  let data: Buffer = Buffer.from(body, 'utf8');
  const out: Record<string, string | string[] | number> = { ...frontEndHeaders(opts.backendHost), 'Content-Type': XML_CONTENT_TYPE, ...headers };
  if (opts.compress && data.length > 0 && acceptsGzip(req)) {
    data = gzipSync(data);
    out['Content-Encoding'] = 'gzip';
    out.Vary = 'Accept-Encoding';
  }
  if (opts.split && data.length > 0) {
    res.writeHead(status, out);
    return writePieces(res, splitBytes(data, opts.split), opts.pauseMs ?? 5);
  }
  out['Content-Length'] = data.length;
  res.writeHead(status, out);
  res.end(data);
}

/** The head of a GetStreamingEvents answer: 200, chunked, no buffering, sent at once. */
export function startStream(res: ServerResponse, opts: ReplyOptions, extra: Record<string, string | string[]> = {}): void {
  res.writeHead(200, {
    ...frontEndHeaders(opts.backendHost),
    'Content-Type': XML_CONTENT_TYPE,
    'Transfer-Encoding': 'chunked',
    'X-NoBuffering': '1',
    'Cache-Control': 'private',
    Connection: 'close',
    ...extra,
  });
  res.flushHeaders();
  res.socket?.setNoDelay(true);
}
