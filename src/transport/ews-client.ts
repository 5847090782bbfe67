// The WatchClient of the engine over real HTTP: builds each request (src/ews/requests.ts), sends it, and turns
// the answer into a result or one of our errors. HTTP status mapping: 401/403 → AuthError; a SOAP fault body →
// EwsResponseError (ErrorServerBusy keeps its BackOffMilliseconds, ews-protocol.md §4.4); other non-200 →
// TransportError with the status.

import { AuthError, EwsResponseError, ProtocolError, TransportError } from '../errors.js';
import { buildGetStreamingEvents, buildSubscribe, buildUnsubscribe } from '../ews/requests.js';
import { decodeFault, decodeSubscribeResponse, decodeUnsubscribeResponse } from '../ews/responses.js';
import type { EventType, FolderSelector, RequestContext, ServerVersionInfo } from '../ews/types.js';
import { stripControl } from '../output/sanitize.js';
import type { WatchClient } from '../watch/client.js';
import type { EwsHttp } from './http.js';

export interface EwsClientOptions {
  http: EwsHttp;
  ctx: RequestContext;
  folders: FolderSelector;
  events: readonly EventType[];
  /** Who we sign in as, for messages. */
  user: string;
  /** The hanging request's idle bound; the engine's watchdog normally fires first. */
  streamIdleMs: number;
  onServerVersion?: (v: ServerVersionInfo) => void;
}

export function createEwsClient(o: EwsClientOptions): WatchClient {
  return {
    async subscribe(signal) {
      const res = await o.http.post(buildSubscribe(o.ctx, o.folders, o.events), { operation: 'Subscribe', signal });
      checkStatus(res.status, res.body, 'Subscribe', o.user);
      const decoded = decodeSubscribeResponse(res.body);
      if (decoded.serverVersion) o.onServerVersion?.(decoded.serverVersion);
      return decoded.subscriptionId;
    },
    async unsubscribe(subscriptionId, signal) {
      const res = await o.http.post(buildUnsubscribe(o.ctx, subscriptionId), { operation: 'Unsubscribe', signal });
      checkStatus(res.status, res.body, 'Unsubscribe', o.user);
      try {
        decodeUnsubscribeResponse(res.body);
      } catch (err) {
        // Already gone is what we wanted.
        if (err instanceof EwsResponseError && err.responseCode === 'ErrorSubscriptionNotFound') return;
        throw err;
      }
    },
    async openStream(subscriptionId, minutes, signal) {
      const body = buildGetStreamingEvents(o.ctx, [subscriptionId], minutes);
      const res = await o.http.openStream(body, { signal, bodyTimeoutMs: o.streamIdleMs });
      if (res.status !== 200) {
        const text = await res.text().catch(() => '');
        checkStatus(res.status, text, 'GetStreamingEvents', o.user);
        throw new ProtocolError(`GetStreamingEvents: unexpected HTTP ${res.status}`);
      }
      return res.body;
    },
  };
}

/** Throws the error that an HTTP answer other than 200 means. A 200 passes. */
export function checkStatus(status: number, body: string, operation: string, user: string): void {
  if (status === 200) {
    // Some servers send SOAP faults with 200 (gromox does); decoders handle those.
    return;
  }
  if (status === 401) {
    throw new AuthError(
      `${operation}: the server rejected the credentials of ${user} (HTTP 401). Check EWS_USER and the password (or token), and that this authentication scheme is enabled on the EWS virtual directory.`,
      { status },
    );
  }
  if (status === 403) {
    throw new AuthError(
      `${operation}: access forbidden for ${user} (HTTP 403): the credentials were accepted but EWS is not allowed for this account or application (on Exchange Online, the tenant must allow EWS and this app id).`,
      { status },
    );
  }
  const fault = safeDecodeFault(body);
  if (fault) {
    throw new EwsResponseError(fault.responseCode, `${operation}: ${fault.responseCode}: ${stripControl(fault.messageText)}`.trim(), {
      backOffMs: fault.backOffMs,
      subscriptionIds: fault.subscriptionIds,
    });
  }
  const excerpt = stripControl(body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ')).trim().slice(0, 120);
  throw new TransportError(`${operation}: HTTP ${status} from the server${excerpt ? ` (${excerpt})` : ''}`, { status });
}

function safeDecodeFault(body: string): ReturnType<typeof decodeFault> {
  try {
    return decodeFault(body);
  } catch {
    return undefined;
  }
}
