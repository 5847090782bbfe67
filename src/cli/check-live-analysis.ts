// What a `check --live` run saw, and what it means: a pure function from the observed timeline of one streaming
// connection (when each byte, heartbeat and the draft's event arrived, and how the connection ended) to findings
// in plain words, one line each, naming the cause and what to ask the admin. Pure: no I/O, no clock.

import { cleanText } from '../base/sanitize.js';
import { formatLatency } from '../base/duration.js';

/** How the observed connection ended. Times are milliseconds on the run's clock. */
export type LiveEnd =
  /** [ews] ConnectionStatus Closed: the server ended it at ConnectionTimeout (protocol-notes.md §2.4). */
  | { how: 'closed'; at: number }
  /** The body ended without Closed, or the connection broke: something cut it. */
  | { how: 'cut'; at: number }
  /** Neither Closed nor a cut by ConnectionTimeout + 60 s (exchangelib's bound, §2.4): we gave up. */
  | { how: 'bound'; at: number }
  /** The stream's server did not hold the subscription just made (ErrorSubscriptionNotFound, or gromox's lost id). */
  | { how: 'unknown-subscription'; at: number; code: string }
  /** Another error in the stream, or a stream that could not be read. */
  | { how: 'error'; at: number; code: string; message: string };

export interface LiveTimeline {
  /** The ConnectionTimeout asked for, in minutes. */
  minutes: number;
  /** The stream answered 200. */
  openedAt: number;
  /** CreateItem answered with the draft's id (undefined: no draft was saved). */
  savedAt?: number;
  /** Arrival time of each piece of the body, in order. */
  chunks: readonly number[];
  /** Arrival time of each heartbeat (ConnectionStatus OK), in order. */
  heartbeats: readonly number[];
  /** Arrival of the draft's Created event. */
  eventAt?: number;
  end: LiveEnd;
  /** Subscribe's answer set X-BackEndOverrideCookie (which ews-watch then sends back). */
  affinityCookie: boolean;
}

export interface LiveFinding {
  /** ok: works; FAIL: a problem, with what to ask the admin; note: a fact worth knowing. */
  status: 'ok' | 'FAIL' | 'note';
  text: string;
}

/** Bytes that arrive this close to the end came with it, in one burst (a buffering proxy lets go of all at once). */
export const BURST_MS = 250;
/** An event later than this is called slow. Exchange notifies within a second or two. */
export const SLOW_MS = 10_000;

const ADMIN_BUFFERING =
  'ask the admin to turn off response buffering for /EWS/ (nginx: `proxy_buffering off;` in the location of /EWS/, since nginx ignores the X-NoBuffering header Exchange sends; other proxies: their response buffering setting); until then ews-watch gets events only when each connection ends, up to 30 minutes late';
const ADMIN_IDLE =
  'ask the admin to raise the idle timeout for /EWS/ above 30 minutes (an AWS load balancer\'s idle timeout, nginx proxy_read_timeout, HAProxy timeout server: 60 s by default or commonly); ews-watch reconnects and nothing is lost, but each cut costs a reconnect, a catch-up and a warning';
const ADMIN_DURATION =
  'ask the admin to let requests to /EWS/ last 30 minutes (the longest ConnectionTimeout); ews-watch reconnects and nothing is lost, but each cut costs a reconnect, a catch-up and a warning';
const ADMIN_AFFINITY =
  'ask the admin to pass the X-BackEndOverrideCookie cookie through both ways for /EWS/, or to keep each client on one Exchange server (cookie or source-IP persistence); until then ews-watch subscribes again and again and can miss events';

/** "850 ms", "4.2 s", "118 s". */

export function analyzeLiveRun(t: LiveTimeline): LiveFinding[] {
  if (t.end.how === 'unknown-subscription') return [affinityFailure(t, t.end.code)];
  const buffered = isBuffered(t);
  return [eventFinding(t, buffered), ...endFinding(t, buffered), heartbeatFinding(t, buffered), affinityOk(t)].filter((f): f is LiveFinding => f !== undefined);
}

/** The draft's event (and the bytes before it) came only in the last burst before Closed, long after the save. */
function isBuffered(t: LiveTimeline): boolean {
  if (t.end.how !== 'closed' || t.eventAt === undefined || t.savedAt === undefined) return false;
  return t.end.at - t.eventAt <= BURST_MS && t.eventAt - t.savedAt > 2 * BURST_MS;
}

function eventFinding(t: LiveTimeline, buffered: boolean): LiveFinding | undefined {
  if (t.savedAt === undefined) return undefined;
  const open = formatLatency(t.end.at - t.openedAt);
  if (t.eventAt === undefined) {
    if (t.end.how === 'cut') return undefined; // the cut is the finding; the event had no chance
    if (t.end.how === 'bound') return { status: 'FAIL', text: `the draft's event never came, and the connection neither closed nor broke within ConnectionTimeout + 60 s (${open}): something between holds the stream — run with -v to see what arrived` };
    return { status: 'FAIL', text: `the draft's event never came, though the connection stayed open ${open} until the server closed it: Exchange did not notify, or something between dropped it — run with -v to see the stream` };
  }
  const late = Math.max(0, t.eventAt - t.savedAt);
  if (buffered) return { status: 'FAIL', text: `the event came only when the connection closed, ${formatLatency(late)} late: a proxy or load balancer buffers responses — ${ADMIN_BUFFERING}` };
  const slow = late > SLOW_MS ? ' (slow: Exchange usually takes a second or two; a busy server or a proxy that holds bytes for a while)' : '';
  return { status: 'ok', text: `events arrive in ${formatLatency(late)} (from saving the draft to its Created event)${slow}` };
}

function endFinding(t: LiveTimeline, buffered: boolean): LiveFinding[] {
  const open = formatLatency(t.end.at - t.openedAt);
  const end = t.end;
  if (end.how === 'closed') {
    const quiet = buffered ? '' : `; silences of up to ${formatLatency(longestGap(t, end.at))} did no harm`;
    return [{ status: 'ok', text: `the connection stayed open ${open}, until the server closed it at its ConnectionTimeout of ${t.minutes} min${quiet}` }];
  }
  if (end.how === 'cut') return [cutFinding(t, end.at)];
  if (end.how === 'bound') return t.savedAt !== undefined && t.eventAt === undefined ? [] : [{ status: 'FAIL', text: `the connection neither closed nor broke within ConnectionTimeout + 60 s (${open}); ews-watch gave up on it — run with -v to see what arrived` }];
  if (end.how === 'error') return [{ status: 'FAIL', text: `the stream ended with ${cleanText(end.code)} after ${open}${end.message ? `: ${cleanText(end.message)}` : ''}` }];
  return [];
}

/** A cut after a long silence is an idle timeout; one while bytes kept coming is a limit on how long a request lasts. */
function cutFinding(t: LiveTimeline, at: number): LiveFinding {
  const last = lastByteBefore(t, at);
  const silence = at - last;
  const before = Math.max(0, ...gaps(t, last));
  const after = formatLatency(at - t.openedAt);
  const lost = t.savedAt !== undefined && t.eventAt === undefined ? ' (before the draft\'s event came)' : '';
  if (silence > 1.5 * before) {
    return { status: 'FAIL', text: `no byte for ${formatLatency(silence)}, then the connection was cut${lost} before the server closed it: something between cuts idle connections after ~${formatLatency(silence)} — ${ADMIN_IDLE}` };
  }
  return { status: 'FAIL', text: `the connection was cut after ${after}${lost} before the server closed it, though bytes kept coming: something between limits how long a request may last — ${ADMIN_DURATION}` };
}

function heartbeatFinding(t: LiveTimeline, buffered: boolean): LiveFinding {
  const span = formatLatency(t.end.at - t.openedAt);
  if (buffered) return { status: 'note', text: `heartbeats: ${t.heartbeats.length} arrived at once at the end, held back with everything else` };
  const intervals = t.heartbeats.slice(1).map((at, i) => at - t.heartbeats[i]!);
  if (intervals.length === 0) {
    return { status: 'note', text: `heartbeats: none in ${span}${t.heartbeats.length === 1 ? ' after the first' : ''} (Exchange Online is reported to send none); ews-watch reconnects after --heartbeat-timeout (90 s by default) of silence, at no loss` };
  }
  const sorted = [...intervals].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return { status: 'note', text: `heartbeats every ${formatLatency(median)} (${t.heartbeats.length} in ${span}); ews-watch reconnects after --heartbeat-timeout (90 s by default) of silence` };
}

function affinityOk(t: LiveTimeline): LiveFinding {
  return t.affinityCookie
    ? { status: 'ok', text: 'affinity: Subscribe set the X-BackEndOverrideCookie cookie, ews-watch sent it back, and the stream found the subscription' }
    : { status: 'ok', text: 'affinity: the stream found the subscription (Subscribe set no X-BackEndOverrideCookie cookie: this server does not route by it)' };
}

function affinityFailure(t: LiveTimeline, code: string): LiveFinding {
  const said = `the stream's server did not know the subscription just made (${cleanText(code)})`;
  return t.affinityCookie
    ? { status: 'FAIL', text: `${said}, though ews-watch sent the affinity cookie back: a load balancer strips the Cookie header or balances without affinity — ${ADMIN_AFFINITY}` }
    : { status: 'FAIL', text: `the affinity cookie did not come back (Subscribe's answer set no X-BackEndOverrideCookie) and ${said}: a load balancer strips cookies or balances without affinity — ${ADMIN_AFFINITY}` };
}

/** The last byte's arrival before `at` (the opening when none came). */
function lastByteBefore(t: LiveTimeline, at: number): number {
  return t.chunks.filter((c) => c <= at).reduce((a, b) => Math.max(a, b), t.openedAt);
}

/** The silences between the opening and `until`: from one byte to the next. */
function gaps(t: LiveTimeline, until: number): number[] {
  const times = [t.openedAt, ...t.chunks.filter((c) => c <= until)];
  return times.slice(1).map((at, i) => at - times[i]!);
}

function longestGap(t: LiveTimeline, end: number): number {
  return Math.max(0, ...gaps(t, end), end - lastByteBefore(t, end));
}
