// Turns the engine's status reports into the spinner's text and stderr lines. A normal reconnect (Closed) is
// silent unless -v; every unexpected disconnect gets one warning line that says what happened and what comes
// next, so a user running ews-watch for days can see why it reconnected. Server text is stripped of controls.

import { stripControl } from '../output/sanitize.js';
import type { Logger } from '../term/logger.js';
import type { StatusLine } from '../term/spinner.js';
import type { Decision, Outcome } from '../watch/policy.js';
import type { WatchStatus } from '../watch/status.js';

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
      case 'subscribing':
        o.status.set(`subscribing to ${o.folderLabel} of ${o.mailbox}`);
        return o.logger.debug(`subscribing to ${o.folderLabel} of ${o.mailbox}`);
      case 'resubscribing':
        o.status.set(`subscribing again (${untrusted(s.reason)})`);
        return o.logger.debug(`subscribing again (${s.reason})`);
      case 'subscribed':
        return o.logger.debug(`subscribed: ${s.subscriptionId}`);
      case 'connecting':
        o.status.set(s.attempt > 1 ? `reconnecting (attempt ${s.attempt})` : 'connecting');
        return o.logger.debug(`GetStreamingEvents (attempt ${s.attempt})`);
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
      case 'disconnected':
        return reportDisconnect(o, s.outcome, s.decision);
      case 'gap':
        o.status.set(s.reason === 'start' ? 'catching up from the saved state' : `catching up after ${untrusted(s.reason)}`);
        return o.logger.debug(s.reason === 'start' ? 'catching up from the saved sync state' : `events may have been missed (${stripControl(s.reason)}); catching up with SyncFolderItems`);
      case 'waiting':
        o.status.set(`waiting ${formatDelay(s.delayMs)} (${untrusted(s.reason)})`);
        return;
      case 'unsubscribing':
        o.status.set('unsubscribing');
        return o.logger.debug(`unsubscribing ${s.subscriptionId}`);
      case 'unsubscribed':
        if (s.ok) return o.logger.debug('unsubscribed');
        return o.logger.warn(`could not unsubscribe (${stripControl(s.message ?? 'no answer')}); the server will expire the subscription`);
    }
  };
}

function reportDisconnect(o: StatusReporterOptions, outcome: Outcome, decision: Decision): void {
  if (decision.kind === 'stop' || decision.kind === 'fail') return;
  const next =
    decision.kind === 'resubscribe'
      ? `subscribing again${decision.delayMs ? ` in ${formatDelay(decision.delayMs)}` : ''}`
      : `reconnecting${decision.delayMs ? ` in ${formatDelay(decision.delayMs)}` : ''}`;
  const line = `${describeOutcome(outcome, o.heartbeatTimeoutMs)}; ${next}`;
  // [ews] Closed is the normal end of every connection (ews-protocol.md §2.4): not worth a warning.
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
        ? `no data for ${formatDelay(heartbeatTimeoutMs)} (connection stalled)`
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
  }
}

export function formatDelay(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  return `${Math.round(ms / 60_000)} min`;
}
