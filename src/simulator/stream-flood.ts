// The 'flood' stream step: a hostile server's stream for the memory tests of issue 10 (item 1). Thousands of
// notification envelopes, each padded to megabytes with whitespace between elements (where XML allows it) or
// carrying an absurdly long ItemId, written as fast as the client reads them. No real Exchange sends these; the
// client must survive them with bounded memory. Padding is one shared buffer, so a flood costs the simulator little.

import { buildNotificationEnvelope, type NotificationBatch } from './stream-envelopes.js';
import type { MailboxChange, SentEnvelope, SimEvent, StreamStep } from './types.js';

export type FloodStep = Extract<StreamStep, { op: 'flood' }>;

export interface FloodHost {
  /** false once the response is over or the script was aborted. */
  active(): boolean;
  /** A new mail into the inbox, dispatched to the subscriptions (queued, in script mode). */
  deliverNewMail(subject: string): MailboxChange;
  /** Takes the events queued for this connection's subscriptions. */
  takeQueued(): NotificationBatch[];
  /** The subscription events of an absurd id are sent for (this connection's first). */
  subscriptionId(): string;
  inboxId(): string;
  /** Writes one piece; resolves once the socket takes more (or the response is over). */
  write(piece: Buffer): Promise<void>;
  record(sent: Omit<SentEnvelope, 'connection' | 'at'>): void;
}

/** What `sent` keeps of a flood envelope: its start (padding left out, long ids cut), never megabytes. */
const RECORDED_CHARS = 4096;

export async function runFlood(step: FloodStep, host: FloodHost): Promise<void> {
  // The padding goes before the last </m:Notification>: inside the envelope, between elements.
  const padding = step.padTo === undefined ? undefined : Buffer.alloc(step.padTo, ' ');
  for (let n = 0; n < step.count && host.active(); n++) {
    const batches = step.itemIdChars === undefined ? mailBatches(step, host, n) : [absurdBatch(step.itemIdChars, host, n)];
    const xml = buildNotificationEnvelope(batches);
    const cut = xml.lastIndexOf('</m:Notification>');
    const head = Buffer.from(xml.slice(0, cut), 'utf8');
    const tail = Buffer.from(xml.slice(cut), 'utf8');
    const pad = padding === undefined ? undefined : padding.subarray(0, Math.max(0, padding.length - head.length - tail.length));
    const events = step.itemIdChars === undefined ? batches.flatMap((b) => b.events) : undefined;
    host.record({
      kind: 'notification',
      subscriptionIds: batches.map((b) => b.subscriptionId),
      xml: xml.length > RECORDED_CHARS ? `${xml.slice(0, RECORDED_CHARS)}…` : xml,
      bytes: head.length + (pad?.length ?? 0) + tail.length,
      ...(events ? { events } : {}),
    });
    await host.write(head);
    if (pad !== undefined && pad.length > 0) await host.write(pad);
    await host.write(tail);
  }
}

// One new mail, its events as the subscriptions got them; with changeKeys 'real', the item's own ChangeKey (some 40
// characters) where Exchange sends the 8-character placeholder.
function mailBatches(step: FloodStep, host: FloodHost, n: number): NotificationBatch[] {
  const change = host.deliverNewMail(`flood ${n + 1}`);
  const batches = host.takeQueued();
  const item = change.item;
  if (step.changeKeys !== 'real' || item === undefined) return batches;
  const real = (e: SimEvent): SimEvent => (e.id.id === item.id ? { ...e, id: { id: item.id, changeKey: item.changeKey } } : e);
  return batches.map((b) => ({ ...b, events: b.events.map(real) }));
}

// A NewMailEvent about an item whose id is `chars` long (it does not exist: a sync never reports it).
function absurdBatch(chars: number, host: FloodHost, n: number): NotificationBatch {
  const suffix = String(n).padStart(8, '0');
  const id = `AAMk${'A'.repeat(Math.max(0, chars - 4 - suffix.length))}${suffix}`;
  const inbox = host.inboxId();
  const timestamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const event: SimEvent = { type: 'NewMailEvent', timestamp, kind: 'item', id: { id, changeKey: 'CQAAAA==' }, parent: { id: inbox, changeKey: 'AQAAAA==' } };
  return { subscriptionId: host.subscriptionId(), events: [event] };
}
