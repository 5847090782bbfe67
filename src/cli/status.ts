// Turns the engine's status reports into the spinner's text and stderr lines. A normal reconnect (Closed) is
// silent unless -v; every unexpected disconnect gets one warning line that says what happened and what comes
// next, so a user running ews-watch for days can see why it reconnected. Server text is stripped of controls.
// Events the decoder skipped (absurdly long ids) get a warning each; the logger folds a storm of them.

import { stripControl } from '../base/sanitize.js';
import type { Logger } from '../term/logger.js';
import type { StatusLine } from '../term/spinner.js';
import type { Outcome } from '../watch/policy.js';
import type { WatchStatus } from '../watch/status.js';
import { formatDuration } from '../base/duration.js';

export interface StatusReporterOptions {
  logger: Logger;
  status: StatusLine;
  folderLabel: string;
  mailbox: string;
  heartbeatTimeoutMs: number;
  now: () => number;
}

export function createStatusReporter(o: StatusReporterOptions): (s: WatchStatus) => void {
  // Server text reaches the status line too (reasons are response codes the server named).
  const untrusted = (text: string): string => o.logger.redact(stripControl(text));
  const watching = `watching ${o.folderLabel} of ${o.mailbox}`;
  let events = 0;
  let lastHeartbeat: number | undefined;
  const idle = (): void => {
    const count = events ? ` · ${events} event${events === 1 ? '' : 's'}` : '';
    o.status.set(lastHeartbeat === undefined ? `${watching}${count}` : `${watching}${count} · heartbeat {ago}`, lastHeartbeat);
  };
  return (s) => {
    switch (s.type) {
      case 'subscribing': {
        const text = `subscribing to ${o.folderLabel} of ${o.mailbox}${s.attempt > 1 ? ` (attempt ${s.attempt})` : ''}`;
        o.status.set(text);
        return o.logger.debug(text);
      }
      case 'resubscribing':
        o.status.set(`subscribing again (${untrusted(s.reason)})`);
        return o.logger.debug(`subscribing again (${s.reason})`);
      case 'subscribed':
        return o.logger.debug(`subscribed: ${s.subscriptionId}`);
      case 'connecting':
        // Nothing is "re"-connecting before the first stream was ever answered.
        o.status.set(s.attempt > 1 ? `${s.streamed ? 'reconnecting' : 'connecting'} (attempt ${s.attempt})` : 'connecting');
        return o.logger.debug(`GetStreamingEvents (attempt ${s.attempt})`);
      case 'awaiting-answer':
        o.status.set(`waiting for the server's answer to ${s.operation} (sent {ago})`, s.since);
        return o.logger.debug(`no answer to ${s.operation} after ${formatDuration(Math.max(0, o.now() - s.since))}; still waiting`);
      case 'connected':
        idle();
        return o.logger.debug('streaming');
      case 'heartbeat':
        if (lastHeartbeat !== undefined) o.logger.debug(`heartbeat (${Math.round((s.at - lastHeartbeat) / 1000)} s after the last)`);
        else o.logger.debug('heartbeat');
        lastHeartbeat = s.at;
        return idle();
      case 'event':
        events = s.count;
        return idle();
      case 'skipped':
        // A server that sends one absurd event sends thousands: the logger folds alike warnings (src/term/repeats.ts).
        return o.logger.warn(`skipped a ${s.event} event with an absurd ${s.field} (${s.length} characters)`);
      case 'disconnected':
        return reportDisconnect(o, s);
      case 'gap':
        o.status.set(s.reason === 'start' ? 'catching up from the saved state' : `catching up after ${untrusted(s.reason)}`);
        return o.logger.debug(s.reason === 'start' ? 'catching up from the saved sync state' : `events may have been missed (${stripControl(s.reason)}); catching up with SyncFolderItems`);
      case 'waiting':
        o.status.set(`waiting ${formatDuration(s.delayMs)} before attempt ${s.attempt} (${untrusted(s.reason)})`);
        return;
      case 'unsubscribing':
        o.status.set('unsubscribing');
        return o.logger.debug(`unsubscribing ${s.subscriptionId}`);
      case 'unsubscribed':
        if (s.alreadyGone) return o.logger.debug('the subscription was already gone (ErrorSubscriptionNotFound)');
        if (s.ok) return o.logger.debug('unsubscribed');
        return o.logger.warn(`could not unsubscribe (${stripControl(s.message ?? 'no answer')}); the server will expire the subscription`);
    }
  };
}

function reportDisconnect(o: StatusReporterOptions, s: Extract<WatchStatus, { type: 'disconnected' }>): void {
  const { outcome, decision } = s;
  if (decision.kind === 'stop' || decision.kind === 'fail') return;
  const delay = decision.delayMs ? formatDuration(decision.delayMs) : undefined;
  const what = describeOutcome(outcome, o.heartbeatTimeoutMs);
  let line: string;
  if (!s.streamed) {
    // Nothing has connected yet: say which attempt failed and when the next one comes, never "reconnecting".
    const next = decision.kind === 'resubscribe' ? `subscribing again${delay ? ` in ${delay}` : ''}` : delay ? `next try in ${delay}` : 'trying again now';
    line = `${what} (attempt ${s.attempt}; ${next})`;
  } else {
    const next = decision.kind === 'resubscribe' ? `subscribing again${delay ? ` in ${delay}` : ''}` : `reconnecting${delay ? ` in ${delay}` : ''}`;
    line = `${what}; ${next}`;
  }
  // [ews] Closed is the normal end of every connection (protocol-notes.md §2.4): not worth a warning.
  if (outcome.kind === 'closed') o.logger.debug(line);
  else o.logger.warn(line);
}

export function describeOutcome(outcome: Outcome, heartbeatTimeoutMs: number): string {
  switch (outcome.kind) {
    case 'closed':
      return 'the server closed the connection (ConnectionTimeout reached)';
    case 'eof':
      return 'the stream ended without ConnectionStatus Closed';
    case 'stalled':
      return outcome.limit === 'heartbeat'
        ? `no data for ${formatDuration(heartbeatTimeoutMs)} (connection stalled)`
        : 'the connection outlived ConnectionTimeout + 60 s (stalled)';
    case 'aborted':
      return 'stopped';
    case 'ews-error': {
      const msg = stripControl(outcome.message).trim().replace(/\.$/, '');
      return msg.includes(outcome.code) ? msg : `${outcome.code}${msg ? `: ${msg}` : ''}`;
    }
    case 'transport-error':
    case 'auth-error':
      return stripControl(outcome.message).trim().replace(/\.$/, '');
    case 'protocol-error':
      return `malformed stream: ${stripControl(outcome.message)}`;
    case 'subscription-lost':
      return 'the server no longer holds the subscription (it listed it in ErrorSubscriptionIds)';
  }
}

