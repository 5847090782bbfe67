// Test doubles for the watch engine: builders for GetStreamingEvents envelopes in Exchange's own framing
// (protocol-notes.md §2.2 point 3) and a scripted WatchClient that records every call and checks that no two
// GetStreamingEvents requests are ever outstanding at once.

import type { WatchClient } from '../../src/ews/client.js';
import type { Clock } from '../../src/base/clock.js';

const SOAP_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
const TYPES_NS = 'http://schemas.microsoft.com/exchange/services/2006/types';
const MESSAGES_NS = 'http://schemas.microsoft.com/exchange/services/2006/messages';

/** One GetStreamingEventsResponseMessage in the envelope a real Exchange streams (unprefixed Envelope, soap11: children). */
export function envelope(responseClass: 'Success' | 'Error', inner: string): string {
  return (
    `<Envelope xmlns="${SOAP_NS}">` +
    `<soap11:Header xmlns:soap11="${SOAP_NS}"><ServerVersionInfo xmlns:xsd="http://www.w3.org/2001/XMLSchema" ` +
    `xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" MajorVersion="15" MinorVersion="1" MajorBuildNumber="1591" ` +
    `MinorBuildNumber="10" Version="V2017_07_11" xmlns="${TYPES_NS}"/></soap11:Header>` +
    `<soap11:Body xmlns:soap11="${SOAP_NS}"><m:GetStreamingEventsResponse xmlns:xsd="http://www.w3.org/2001/XMLSchema" ` +
    `xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:t="${TYPES_NS}" xmlns:m="${MESSAGES_NS}">` +
    `<m:ResponseMessages><m:GetStreamingEventsResponseMessage ResponseClass="${responseClass}">${inner}` +
    `</m:GetStreamingEventsResponseMessage></m:ResponseMessages></m:GetStreamingEventsResponse></soap11:Body></Envelope>`
  );
}

export function heartbeat(): string {
  return envelope('Success', '<m:ResponseCode>NoError</m:ResponseCode><m:ConnectionStatus>OK</m:ConnectionStatus>');
}

export function closed(): string {
  return envelope('Success', '<m:ResponseCode>NoError</m:ResponseCode><m:ConnectionStatus>Closed</m:ConnectionStatus>');
}

/** A NewMailEvent for item `item-<n>`. */
export function newMail(n: number): string {
  return (
    `<t:NewMailEvent><t:TimeStamp>2024-01-01T00:00:${String(n % 60).padStart(2, '0')}Z</t:TimeStamp>` +
    `<t:ItemId Id="item-${n}" ChangeKey="CQAAAA=="/><t:ParentFolderId Id="inbox-id" ChangeKey="AQAAAA=="/></t:NewMailEvent>`
  );
}

/** One envelope with a notification carrying NewMailEvents for the given item numbers. */
export function notification(subscriptionId: string, items: number[]): string {
  const events = items.map(newMail).join('');
  return envelope(
    'Success',
    `<m:ResponseCode>NoError</m:ResponseCode><m:Notifications><m:Notification>` +
      `<t:SubscriptionId>${subscriptionId}</t:SubscriptionId>${events}</m:Notification></m:Notifications>`,
  );
}

/** An error response message in the stream, in schema order (§1.3, §2.3 (d)). */
export function streamError(
  code: string,
  o: { message?: string; backOffMs?: number; subscriptionIds?: string[]; closed?: boolean } = {},
): string {
  const messageXml =
    o.backOffMs === undefined ? '' : `<m:MessageXml><t:Value Name="BackOffMilliseconds">${o.backOffMs}</t:Value></m:MessageXml>`;
  const ids = o.subscriptionIds?.length
    ? `<m:ErrorSubscriptionIds>${o.subscriptionIds.map((id) => `<m:SubscriptionId>${id}</m:SubscriptionId>`).join('')}</m:ErrorSubscriptionIds>`
    : '';
  return envelope(
    'Error',
    `<m:MessageText>${o.message ?? `${code} happened.`}</m:MessageText><m:ResponseCode>${code}</m:ResponseCode>` +
      `<m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>${messageXml}${ids}` +
      (o.closed ? '<m:ConnectionStatus>Closed</m:ConnectionStatus>' : ''),
  );
}

/**
 * A status envelope in gromox 2.17's framing (ews-samples: gromox217-getstreamingevents-stream.xml): no ResponseClass,
 * no ResponseCode, m:GetStreamingEvents as the message; with ids, the way gromox says it lost those subscriptions.
 */
export function gromoxStatus(status: 'OK' | 'Closed', errorSubscriptionIds: string[] = []): string {
  const ids = errorSubscriptionIds.length
    ? `<m:ErrorSubscriptionIds>${errorSubscriptionIds.map((id) => `<m:SubscriptionId>${id}</m:SubscriptionId>`).join('')}</m:ErrorSubscriptionIds>`
    : '<m:ErrorSubscriptionIds/>';
  return (
    `<?xml version="1.0" encoding="UTF-8"?><SOAP:Envelope xmlns:SOAP="${SOAP_NS}"><SOAP:Header><t:ServerVersionInfo xmlns:t="${TYPES_NS}" ` +
    `MajorVersion="15" MinorVersion="0" MajorBuildNumber="847" MinorBuildNumber="4040"/></SOAP:Header><SOAP:Body><m:GetStreamingEventsResponse>` +
    `<m:ResponseMessages><m:GetStreamingEvents><m:Notifications/>${ids}<m:ConnectionStatus>${status}</m:ConnectionStatus>` +
    `</m:GetStreamingEvents></m:ResponseMessages></m:GetStreamingEventsResponse></SOAP:Body></SOAP:Envelope>`
  );
}

/** What one scripted response body does, step by step. A string or bytes is one chunk. */
export type StreamStep =
  | string
  | Uint8Array
  /** Runs between chunks: the consumer has processed everything before it. */
  | { run: () => void }
  /** Waits this long in clock time (a timer, not a sleep: it does not show in FakeClock.sleeps). */
  | { wait: number }
  /** Sends nothing more; ends with an AbortError when the request is aborted, or never with ignoreAbort. */
  | { hang: true; ignoreAbort?: boolean }
  /** The body fails, as a reset socket does. */
  | { throw: unknown };

export type StreamScript = { fail: unknown } | { steps: StreamStep[] } | { hangOpen: true };
/** An id; a failure; an id that arrives after `after` ms of clock time; or no answer until aborted. */
export type SubscribeScript = string | { fail: unknown } | { after: number; id: string } | { hang: true };

export interface FakeClientOptions {
  clock: Clock;
  subscribes: SubscribeScript[];
  streams: StreamScript[];
  unsubscribe?: 'ok' | 'already-gone' | 'hang' | { fail: unknown };
  /** Called when a script runs out (the call then hangs until aborted); tests stop the watch here. */
  onExhausted?: () => void;
}

export interface StreamRecord {
  subscriptionId: string;
  minutes: number;
  openedAt: number;
  signal: AbortSignal;
  /** The body was read to its end or released. */
  ended: boolean;
}

export interface FakeClient extends WatchClient {
  /** 'subscribe', 'open:<id>', 'unsubscribe:<id>', plus whatever tests push ('gap:…'). */
  readonly calls: string[];
  readonly streams: StreamRecord[];
  readonly unsubscribeSignals: AbortSignal[];
  /** Broken rules, e.g. a second openStream while the first is outstanding. Tests assert it stays empty. */
  readonly violations: string[];
}

export function createFakeClient(o: FakeClientOptions): FakeClient {
  const subscribes = [...o.subscribes];
  const streamScripts = [...o.streams];
  const calls: string[] = [];
  const streams: StreamRecord[] = [];
  const unsubscribeSignals: AbortSignal[] = [];
  const violations: string[] = [];

  return {
    calls,
    streams,
    unsubscribeSignals,
    violations,
    async subscribe(signal) {
      calls.push('subscribe');
      const next = subscribes.shift();
      if (next === undefined) {
        o.onExhausted?.();
        return untilAborted(signal);
      }
      return playSubscribe(next, o.clock, signal);
    },
    async unsubscribe(id, signal) {
      calls.push(`unsubscribe:${id}`);
      if (signal) unsubscribeSignals.push(signal);
      const how = o.unsubscribe ?? 'ok';
      if (how === 'hang') return untilAborted(signal);
      if (how === 'already-gone') return 'already-gone';
      if (how !== 'ok') throw how.fail;
    },
    async openStream(id, minutes, signal) {
      calls.push(`open:${id}`);
      for (const s of streams) {
        if (!s.ended && !s.signal.aborted) violations.push(`openStream(${id}) while the stream opened at ${s.openedAt} is outstanding`);
      }
      const record: StreamRecord = { subscriptionId: id, minutes, openedAt: o.clock.now(), signal, ended: false };
      streams.push(record);
      const script = streamScripts.shift();
      if (script === undefined) {
        o.onExhausted?.();
        return untilAborted(signal);
      }
      if ('fail' in script) {
        record.ended = true;
        throw script.fail;
      }
      if ('hangOpen' in script) return untilAborted(signal);
      return body(script.steps, record, o.clock);
    },
  };
}

async function* body(steps: StreamStep[], record: StreamRecord, clock: Clock): AsyncGenerator<Uint8Array> {
  try {
    for (const step of steps) {
      if (typeof step === 'string') yield new TextEncoder().encode(step);
      else if (step instanceof Uint8Array) yield step;
      else if ('run' in step) step.run();
      else if ('wait' in step) await new Promise<void>((resolve) => clock.setTimer(step.wait, resolve));
      else if ('throw' in step) throw step.throw;
      else if (step.ignoreAbort) await new Promise<never>(() => undefined);
      else await untilAborted(record.signal);
    }
  } finally {
    record.ended = true;
  }
}

/** Never resolves; rejects with an AbortError once `signal` aborts (as undici does). */
/** What one scripted Subscribe answers: the id, the failure, the id after `after` ms of clock time, or nothing until aborted. */
export async function playSubscribe(next: SubscribeScript, clock: Pick<Clock, 'setTimer'>, signal: AbortSignal | undefined): Promise<string> {
  if (typeof next === 'string') return next;
  if ('fail' in next) throw next.fail;
  if ('after' in next) {
    await new Promise<void>((resolve) => clock.setTimer(next.after, resolve));
    return next.id;
  }
  return untilAborted(signal);
}

/** Never resolves; rejects with an AbortError once `signal` aborts. */
export function untilAborted(signal: AbortSignal | undefined): Promise<never> {
  return new Promise<never>((_, reject) => {
    const fail = (): void => reject(Object.assign(new Error('This operation was aborted'), { name: 'AbortError' }));
    if (signal?.aborted) return fail();
    signal?.addEventListener('abort', fail, { once: true });
  });
}

/** Splits a string into chunks of at most `size` bytes (UTF-8), to feed envelopes across chunk boundaries. */
export function chunks(text: string, size: number): Uint8Array[] {
  const bytes = new TextEncoder().encode(text);
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}
