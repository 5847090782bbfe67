// Test-side EWS client for the simulator tests: request builders, a raw HTTP/1.1 client over node:net that
// sees every chunk of a chunked body, and a local envelope splitter. Independent of src/ews on purpose.

import { connect } from 'node:net';
import { SaxesParser } from 'saxes';
import type { Simulator } from '../../src/simulator/index.js';

export const NS = {
  soap: 'http://schemas.xmlsoap.org/soap/envelope/',
  m: 'http://schemas.microsoft.com/exchange/services/2006/messages',
  t: 'http://schemas.microsoft.com/exchange/services/2006/types',
  e: 'http://schemas.microsoft.com/exchange/services/2006/errors',
};

export function soap(body: string, header = '<t:RequestServerVersion Version="Exchange2013_SP1"/>'): string {
  return (
    `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${NS.soap}" xmlns:m="${NS.m}" xmlns:t="${NS.t}">` +
    `<soap:Header>${header}</soap:Header><soap:Body>${body}</soap:Body></soap:Envelope>`
  );
}

const ALL_EVENTS = ['NewMailEvent', 'CreatedEvent', 'DeletedEvent', 'ModifiedEvent', 'MovedEvent', 'CopiedEvent', 'FreeBusyChangedEvent'];

export function subscribeBody(folders: string[] | 'all' = ['inbox'], events = ALL_EVENTS): string {
  const ids = folders === 'all' ? '' : `<t:FolderIds>${folders.map((f) => (f.length > 40 ? `<t:FolderId Id="${f}"/>` : `<t:DistinguishedFolderId Id="${f}"/>`)).join('')}</t:FolderIds>`;
  const attr = folders === 'all' ? ' SubscribeToAllFolders="true"' : '';
  return soap(`<m:Subscribe><m:StreamingSubscriptionRequest${attr}>${ids}<t:EventTypes>${events.map((e) => `<t:EventType>${e}</t:EventType>`).join('')}</t:EventTypes></m:StreamingSubscriptionRequest></m:Subscribe>`);
}

export function gseBody(ids: string[], minutes = 1): string {
  return soap(`<m:GetStreamingEvents><m:SubscriptionIds>${ids.map((id) => `<t:SubscriptionId>${id}</t:SubscriptionId>`).join('')}</m:SubscriptionIds><m:ConnectionTimeout>${minutes}</m:ConnectionTimeout></m:GetStreamingEvents>`);
}

export function unsubscribeBody(id: string): string {
  return soap(`<m:Unsubscribe><m:SubscriptionId>${id}</m:SubscriptionId></m:Unsubscribe>`);
}

export function basicAuth(sim: Simulator): string {
  return `Basic ${Buffer.from(`${sim.credentials.user}:${sim.credentials.password}`).toString('base64')}`;
}

export interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

/** An ordinary request with fetch (which decompresses gzip as a real client must). */
export async function post(sim: Simulator, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(sim.url, {
    method: 'POST',
    headers: { authorization: basicAuth(sim), 'content-type': 'text/xml; charset=utf-8', ...headers },
    body,
  });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** Subscribe and return the id and the cookie header a client should replay. */
export async function subscribe(sim: Simulator, folders: string[] | 'all' = ['inbox'], events?: string[]): Promise<{ id: string; cookie: string }> {
  const answer = await post(sim, subscribeBody(folders, events));
  const id = /<m:SubscriptionId>([^<]+)<\/m:SubscriptionId>/.exec(answer.body)?.[1];
  if (!id) throw new Error(`subscribe failed: ${answer.status} ${answer.body.slice(0, 300)}`);
  return { id, cookie: answer.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ') };
}

export interface RawStream {
  /** Status line and headers, as sent. */
  head: Promise<string>;
  /** Payload of each HTTP chunk, in order. */
  chunks: Buffer[];
  text(): string;
  /** Resolves when the socket closes: `ended` = the terminating zero-size chunk arrived. */
  done: Promise<{ ended: boolean }>;
  /** Resolves once the body text satisfies the predicate (rejects after timeoutMs). */
  until(predicate: (text: string) => boolean, timeoutMs?: number): Promise<string>;
  destroy(): void;
}

/** POSTs over a raw socket and decodes the chunked framing itself, so chunk boundaries are visible. */
export function rawPost(sim: Simulator, body: string, headers: Record<string, string> = {}): RawStream {
  const socket = connect(sim.port, '127.0.0.1');
  const all: Record<string, string> = {
    Host: `127.0.0.1:${sim.port}`,
    Authorization: basicAuth(sim),
    'Content-Type': 'text/xml; charset=utf-8',
    'Accept-Encoding': 'identity',
    'Content-Length': String(Buffer.byteLength(body)),
    ...headers,
  };
  socket.write(`POST /EWS/Exchange.asmx HTTP/1.1\r\n${Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`);
  const chunks: Buffer[] = [];
  let buffer = Buffer.alloc(0);
  let headDone = false;
  let ended = false;
  let resolveHead!: (h: string) => void;
  const head = new Promise<string>((r) => (resolveHead = r));
  const waiters = new Set<() => void>();
  const parse = (): void => {
    if (!headDone) {
      const at = buffer.indexOf('\r\n\r\n');
      if (at < 0) return;
      resolveHead(buffer.subarray(0, at).toString('latin1'));
      buffer = buffer.subarray(at + 4);
      headDone = true;
    }
    for (;;) {
      const eol = buffer.indexOf('\r\n');
      if (eol < 0) return;
      const size = parseInt(buffer.subarray(0, eol).toString('latin1'), 16);
      if (buffer.length < eol + 2 + size + 2) return;
      if (size === 0) return void (ended = true);
      chunks.push(buffer.subarray(eol + 2, eol + 2 + size));
      buffer = buffer.subarray(eol + 2 + size + 2);
    }
  };
  socket.on('data', (data: Buffer) => {
    buffer = Buffer.concat([buffer, data]);
    parse();
    for (const w of [...waiters]) w();
  });
  socket.on('error', () => undefined);
  const done = new Promise<{ ended: boolean }>((resolve) =>
    socket.on('close', () => {
      resolveHead('');
      for (const w of [...waiters]) w();
      resolve({ ended });
    }),
  );
  const text = (): string => Buffer.concat(chunks).toString('utf8');
  return {
    head,
    chunks,
    text,
    done,
    destroy: () => socket.destroy(),
    until: (predicate, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (predicate(text())) return finish(), resolve(text());
          if (socket.destroyed) finish(), reject(new Error(`stream closed before condition; got: ${text().slice(-400)}`));
        };
        const timer = setTimeout(() => (finish(), reject(new Error(`timeout; got: ${text().slice(-400)}`))), timeoutMs);
        const finish = (): void => (clearTimeout(timer), void waiters.delete(check));
        waiters.add(check);
        check();
      }),
  };
}

/**
 * Local envelope splitter for the simulator's stream form: every envelope starts with `<Envelope xmlns=`.
 * Throws when anything sits between envelopes or an envelope is unterminated.
 */
export function splitEnvelopes(text: string): string[] {
  if (text === '') return [];
  const starts: number[] = [];
  for (let at = text.indexOf('<Envelope xmlns='); at >= 0; at = text.indexOf('<Envelope xmlns=', at + 1)) starts.push(at);
  if (starts[0] !== 0) throw new Error(`body does not start with <Envelope: ${JSON.stringify(text.slice(0, 60))}`);
  return starts.map((start, i) => {
    const envelope = text.slice(start, starts[i + 1] ?? text.length);
    if (!envelope.endsWith('</Envelope>')) throw new Error(`envelope ${i} is not followed directly by the next one: ${envelope.slice(-80)}`);
    return envelope;
  });
}

export interface ElementInfo {
  uri: string;
  local: string;
  attrs: Record<string, string>;
  text: string;
  path: string[];
}

/** Parses one document with saxes (throws when not well-formed) and lists its elements in document order. */
export function elementsOf(xml: string): ElementInfo[] {
  const parser = new SaxesParser({ xmlns: true });
  const out: ElementInfo[] = [];
  const stack: ElementInfo[] = [];
  parser.on('opentag', (tag) => {
    const attrs: Record<string, string> = {};
    for (const a of Object.values(tag.attributes)) attrs[a.local] = a.value;
    const info: ElementInfo = { uri: tag.uri, local: tag.local, attrs, text: '', path: [...stack.map((s) => s.local), tag.local] };
    out.push(info);
    stack.push(info);
  });
  parser.on('text', (t) => {
    const top = stack[stack.length - 1];
    if (top) top.text += t;
  });
  parser.on('closetag', () => void stack.pop());
  parser.write(xml).close();
  return out;
}

/** Text of the first element with this local name, or undefined. */
export function textOf(xml: string, local: string): string | undefined {
  return elementsOf(xml).find((e) => e.local === local)?.text;
}

export function localNames(xml: string): string[] {
  return elementsOf(xml).map((e) => e.local);
}
