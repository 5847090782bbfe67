// The least an EWS streaming client must do, for the yardstick processes: Subscribe with undici, open one
// GetStreamingEvents with undici's body timeout off, cut the body into <Envelope> documents and run one saxes
// parser over each. No ews-watch code: a yardstick must not share what it measures. Imports undici and saxes only.
// The server comes from BENCH_URL and BENCH_AUTHORIZATION (a Basic header: never in argv).

import { request } from 'undici';
import { SaxesParser } from 'saxes';

const SOAP = 'http://schemas.xmlsoap.org/soap/envelope/';
const M = 'http://schemas.microsoft.com/exchange/services/2006/messages';
const T = 'http://schemas.microsoft.com/exchange/services/2006/types';
const EVENTS = ['NewMailEvent', 'CreatedEvent', 'DeletedEvent', 'ModifiedEvent', 'MovedEvent', 'CopiedEvent', 'FreeBusyChangedEvent'];

const url = process.env.BENCH_URL ?? '';
const headers = { authorization: process.env.BENCH_AUTHORIZATION ?? '', 'content-type': 'text/xml; charset=utf-8' };

const soap = (body: string): string =>
  `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${SOAP}" xmlns:m="${M}" xmlns:t="${T}">` +
  `<soap:Header><t:RequestServerVersion Version="Exchange2013_SP1"/></soap:Header><soap:Body>${body}</soap:Body></soap:Envelope>`;

/** The text of every element called `name` (local name) in one document. */
function textsOf(xml: string, name: string): string[] {
  const found: string[] = [];
  let inside = false;
  const parser = new SaxesParser({ xmlns: true });
  parser.on('opentag', (t) => (inside = t.local === name));
  parser.on('text', (t) => inside && found.push(t));
  parser.on('closetag', () => (inside = false));
  parser.write(xml).close();
  return found;
}

/** Subscribe to the inbox for every event type; the SubscriptionId. */
export async function subscribe(): Promise<string> {
  const body = soap(
    '<m:Subscribe><m:StreamingSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="inbox"/></t:FolderIds><t:EventTypes>' +
      EVENTS.map((t) => `<t:EventType>${t}</t:EventType>`).join('') +
      '</t:EventTypes></m:StreamingSubscriptionRequest></m:Subscribe>',
  );
  const res = await request(url, { method: 'POST', headers, body });
  const id = textsOf(await res.body.text(), 'SubscriptionId')[0];
  if (!id) throw new Error(`Subscribe answered ${res.statusCode} without a SubscriptionId`);
  return id;
}

/** Opens the stream and calls `onEvents(n)` with the number of events of each envelope (0 for a heartbeat). */
export async function stream(subscriptionId: string, onEvents: (n: number) => void): Promise<void> {
  const body = soap(
    `<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>${subscriptionId}</t:SubscriptionId></m:SubscriptionIds>` +
      '<m:ConnectionTimeout>30</m:ConnectionTimeout></m:GetStreamingEvents>',
  );
  const res = await request(url, { method: 'POST', headers, body, bodyTimeout: 0 });
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of res.body) {
    pending += decoder.decode(chunk as Buffer, { stream: true });
    // Each whole envelope (up to its closing tag, any prefix) is parsed; the rest waits for the next chunk.
    const close = /<\/(?:[A-Za-z_][\w.-]*:)?Envelope\s*>/g;
    let start = 0;
    for (let m = close.exec(pending); m; m = close.exec(pending)) {
      onEvents(eventsIn(pending.slice(start, close.lastIndex)));
      start = close.lastIndex;
    }
    pending = pending.slice(start);
  }
}

/** One saxes parse of one envelope: how many events it carries. */
function eventsIn(envelope: string): number {
  let n = 0;
  const parser = new SaxesParser({ xmlns: true });
  parser.on('opentag', (t) => {
    if (EVENTS.includes(t.local ?? '')) n += 1;
  });
  parser.write(envelope.trimStart()).close();
  return n;
}
