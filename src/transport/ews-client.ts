// The WatchClient of the engine over real HTTP: builds each request (src/ews/requests.ts), sends it, and turns
// the answer into a result or one of our errors. HTTP status mapping: 401/403 → AuthError; a SOAP fault body →
// EwsResponseError (ErrorServerBusy keeps its BackOffMilliseconds, protocol-notes.md §4.4); other non-200 →
// TransportError with the status. A 401 with a provider that can refresh (OAuth) gets one new token and one retry
// of the same request, so the subscription survives a token that expired mid-stream.

import { AuthError, EwsResponseError, ProtocolError, TransportError } from '../errors.js';
import { buildGetStreamingEvents, buildSubscribe, buildUnsubscribe } from '../ews/requests.js';
import { decodeFault, decodeSubscribeResponse, decodeUnsubscribeResponse } from '../ews/responses.js';
import type { EventType, FolderSelector, RequestContext, ServerVersionInfo } from '../ews/types.js';
import { cleanText, stripControl } from '../base/sanitize.js';
import type { EwsClient } from '../ews/client.js';
import { buildGetFolder, buildGetItem, decodeGetFolderResponse, decodeGetItemResponse } from '../ews/items.js';
import { buildSyncFolderHierarchy, buildSyncFolderItems, decodeSyncFolderHierarchyResponse, decodeSyncFolderItemsResponse } from '../ews/sync.js';
import type { AuthProvider } from '../auth/types.js';
import { buildConvertId, buildResolveNames, decodeConvertIdResponse, decodeResolveNamesResponse } from '../ews/identity.js';
import {
  buildCreateFolder,
  buildCreateItem,
  buildDeleteFolder,
  buildDeleteItem,
  buildFindFolder,
  buildMoveCopyItem,
  buildUpdateItem,
  decodeCreateFolderResponse,
  decodeDeleteResponse,
  decodeFindFolderResponse,
  decodeItemIdResponse,
} from '../ews/writes.js';
import type { EwsHttp } from './http.js';
import { clientErrorAnswer, looksLikeSoap, notEwsAnswer, parseRetryAfter, redirectAnswer } from './unexpected-answer.js';

export interface EwsClientOptions {
  http: EwsHttp;
  ctx: RequestContext;
  folders: FolderSelector;
  events: readonly EventType[];
  /** Who we sign in as, for messages. */
  user: string;
  onServerVersion?: (v: ServerVersionInfo) => void;
  /** The provider behind `http`: its refresh() and advice() apply on 401/403 (OAuth). */
  auth?: Pick<AuthProvider, 'refresh' | 'advice'>;
  /** Hides what the client sent (src/term/redact.ts) in server text, before an excerpt cuts it. */
  redact?: (text: string) => string;
  /** The configured endpoint, for hints when the server answers with something that is not EWS. */
  url?: URL;
  /** Clock time, for a Retry-After given as a date. */
  now?: () => number;
}

/**
 * None for the hanging request: an armed undici body timeout ticks twice a second for as long as the stream is quiet,
 * all day long, and its callers bound the silence themselves (the connection's heartbeat watchdog, check --live's
 * overall bound).
 */
const STREAM_BODY_TIMEOUT_MS = 0;

/** FindFolder pages read at most (500 folders each) before the list is taken as complete enough. */
const MAX_FIND_FOLDER_PAGES = 20;

export function createEwsClient(o: EwsClientOptions): EwsClient {
  const advice = o.auth?.advice?.bind(o.auth);
  /** One post; on a 401 one refresh and one retry of the same request (the caller checks the final status). */
  const post = async (body: string, operation: string, signal?: AbortSignal, lane?: 'urgent' | 'lookup') => {
    const opts = { operation, signal, ...(lane === 'urgent' ? { urgent: true } : lane === 'lookup' ? { lookup: true } : {}) };
    const res = await o.http.post(body, opts);
    if (res.status !== 401 || !(await refreshed(o.auth))) return res;
    return o.http.post(body, opts);
  };
  const check = (res: { status: number; body: string; headers?: Headers }, operation: string): void =>
    checkStatus(res.status, res.body, operation, o.user, { advice, diagnostics: diagnosticsOf(res.headers), headers: res.headers, url: o.url, now: o.now?.(), redact: o.redact });
  /** One call: send, turn a refusal into our error, decode the answer. */
  const call = async <T>(body: string, operation: string, decode: (xml: string) => T, signal?: AbortSignal, lane?: 'lookup'): Promise<T> => {
    const res = await post(body, operation, signal, lane);
    check(res, operation);
    return decode(res.body);
  };
  return {
    async subscribe(signal) {
      const res = await post(buildSubscribe(o.ctx, o.folders, o.events), 'Subscribe', signal);
      check(res, 'Subscribe');
      const decoded = decodeSubscribeResponse(res.body);
      if (decoded.serverVersion) o.onServerVersion?.(decoded.serverVersion);
      return decoded.subscriptionId;
    },
    async unsubscribe(subscriptionId, signal) {
      // Urgent: it is sent on the way out, and must not wait behind a lookup the server is slow to answer.
      const res = await post(buildUnsubscribe(o.ctx, subscriptionId), 'Unsubscribe', signal, 'urgent');
      check(res, 'Unsubscribe');
      try {
        decodeUnsubscribeResponse(res.body);
        return 'unsubscribed';
      } catch (err) {
        // Already gone is what we wanted.
        if (err instanceof EwsResponseError && err.responseCode === 'ErrorSubscriptionNotFound') return 'already-gone';
        throw err;
      }
    },
    async syncFolderItems(req, signal) {
      return call(buildSyncFolderItems(o.ctx, req), 'SyncFolderItems', decodeSyncFolderItemsResponse, signal);
    },
    async syncFolderHierarchy(req, signal) {
      return call(buildSyncFolderHierarchy(o.ctx, req), 'SyncFolderHierarchy', decodeSyncFolderHierarchyResponse, signal);
    },
    // GetItem runs side by side on connections of its own (http.ts), never behind a sync. GetFolder stays on the
    // connection for calls: it is asked once at start and then once per folder, never in bursts.
    async getItems(itemIds, signal) {
      return call(buildGetItem(o.ctx, itemIds), 'GetItem', decodeGetItemResponse, signal, 'lookup');
    },
    async lookUpItems(itemIds, signal) {
      return call(buildGetItem(o.ctx, itemIds, []), 'GetItem', decodeGetItemResponse, signal, 'lookup');
    },
    async getFolders(folders, signal) {
      return call(buildGetFolder(o.ctx, folders), 'GetFolder', decodeGetFolderResponse, signal);
    },
    async rootFolder(signal) {
      const [root] = await call(buildGetFolder(o.ctx, [{ kind: 'distinguished', name: 'root' }], []), 'GetFolder', decodeGetFolderResponse, signal);
      return root;
    },
    async convertId(id, mailbox, signal) {
      return call(buildConvertId(o.ctx, { id, mailbox }), 'ConvertId', decodeConvertIdResponse, signal);
    },
    async resolveNames(entry, signal) {
      return call(buildResolveNames(o.ctx, entry), 'ResolveNames', decodeResolveNamesResponse, signal);
    },
    // The write calls (src/ews/writes.ts): `check --live` and the conformance harness change a scratch folder tree.
    async createFolder(parent, displayName, signal) {
      return call(buildCreateFolder(o.ctx, parent, displayName), 'CreateFolder', decodeCreateFolderResponse, signal);
    },
    async deleteFolder(folderId, mode, signal) {
      return call(buildDeleteFolder(o.ctx, folderId, mode), 'DeleteFolder', (xml) => decodeDeleteResponse(xml, 'DeleteFolder'), signal);
    },
    async createDraft(folderId, draft, signal) {
      return call(buildCreateItem(o.ctx, folderId, draft), 'CreateItem', (xml) => decodeItemIdResponse(xml, 'CreateItem'), signal);
    },
    async updateItem(item, change, signal) {
      return call(buildUpdateItem(o.ctx, item, change), 'UpdateItem', (xml) => decodeItemIdResponse(xml, 'UpdateItem'), signal);
    },
    async moveItem(itemId, toFolderId, signal) {
      return call(buildMoveCopyItem(o.ctx, 'MoveItem', itemId, toFolderId), 'MoveItem', (xml) => decodeItemIdResponse(xml, 'MoveItem'), signal);
    },
    async copyItem(itemId, toFolderId, signal) {
      return call(buildMoveCopyItem(o.ctx, 'CopyItem', itemId, toFolderId), 'CopyItem', (xml) => decodeItemIdResponse(xml, 'CopyItem'), signal);
    },
    async deleteItem(itemId, mode, signal) {
      return call(buildDeleteItem(o.ctx, itemId, mode), 'DeleteItem', (xml) => decodeDeleteResponse(xml, 'DeleteItem'), signal);
    },
    async findFolders(parent, signal) {
      const found: Array<{ id: string; displayName: string }> = [];
      let offset = 0;
      for (let page = 0; page < MAX_FIND_FOLDER_PAGES; page += 1) {
        const answer = await call(buildFindFolder(o.ctx, parent, offset), 'FindFolder', decodeFindFolderResponse, signal);
        found.push(...answer.folders);
        // An empty page that claims more would loop for ever: stop there.
        if (answer.includesLast || answer.folders.length === 0) break;
        offset = answer.nextOffset !== undefined && answer.nextOffset > offset ? answer.nextOffset : offset + answer.folders.length;
      }
      return found;
    },
    openStream: (subscriptionId, minutes, signal) => openEventStream(o, [subscriptionId], minutes, signal),
  };
}

/**
 * The hanging GetStreamingEvents for these ids (one mailbox's, or a group's impersonating its anchor): the body once
 * the server answered 200; a refusal thrown as our error (one new token and one retry on a 401 with OAuth).
 */
export async function openEventStream(o: EwsClientOptions, subscriptionIds: readonly string[], minutes: number, signal: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
  const body = buildGetStreamingEvents(o.ctx, subscriptionIds, minutes);
  let res = await o.http.openStream(body, { signal, bodyTimeoutMs: STREAM_BODY_TIMEOUT_MS });
  if (res.status === 401 && o.auth?.refresh) {
    // Read the refusal to its end so the connection can carry the retry.
    await res.text().catch(() => '');
    if (await refreshed(o.auth)) res = await o.http.openStream(body, { signal, bodyTimeoutMs: STREAM_BODY_TIMEOUT_MS });
  }
  // An HTML page is no event stream (a portal or proxy sign-in in between): read it and say so.
  if (res.status !== 200 || /html/i.test(String(res.headers['content-type'] ?? ''))) {
    const text = await res.text().catch(() => '');
    checkStatus(res.status, text, 'GetStreamingEvents', o.user, { ...statusContextOf(o), diagnostics: diagnosticsOf(res.headers), headers: res.headers });
    throw new ProtocolError(`GetStreamingEvents: unexpected HTTP ${res.status}`);
  }
  return res.body;
}

/** What checkStatus needs from the client's options, for every answer. */
function statusContextOf(o: EwsClientOptions): StatusContext {
  const advice = o.auth?.advice?.bind(o.auth);
  return { ...(advice ? { advice } : {}), ...(o.url ? { url: o.url } : {}), ...(o.now ? { now: o.now() } : {}), ...(o.redact ? { redact: o.redact } : {}) };
}

type Headers = Record<string, string | string[] | undefined>;

export interface StatusContext {
  /** The provider's advice for a refusal (replaces the generic one). */
  advice?: (status: number) => string;
  /** Exchange Online's x-ms-diagnostics reason, e.g. "The token has expired." (untrusted; sanitised here). */
  diagnostics?: string;
  /** Hides secrets the client sent, should the server echo them (proxies' error pages do). */
  redact?: (text: string) => string;
  /** The answer's headers: Retry-After, Location, Content-Type. */
  headers?: Headers;
  /** The configured endpoint, for hints. */
  url?: URL;
  /** Clock time the answer arrived, for a Retry-After date. */
  now?: number;
}

async function refreshed(auth: EwsClientOptions['auth']): Promise<boolean> {
  return auth?.refresh ? auth.refresh() : false;
}

/** The reason="…" of Exchange Online's x-ms-diagnostics header, printable and bounded. */
export function diagnosticsOf(headers: Headers | undefined): string | undefined {
  const raw = headers?.['x-ms-diagnostics'];
  const text = Array.isArray(raw) ? raw[0] : raw;
  if (!text) return undefined;
  const reason = /reason="([^"]*)"/.exec(text)?.[1] ?? text;
  return stripControl(reason).trim().slice(0, 160) || undefined;
}

/** How much of a refusal's text is redacted for its excerpt (the excerpt shows 120 characters of it). */
const MAX_REDACTED = 4096;
/** What of an unexpected page its title and excerpt are taken from (after redaction). */
const MAX_SHOWN_BODY = 65_536;

/** Throws the error that an HTTP answer other than 200 means. A 200 passes. */
export function checkStatus(status: number, body: string, operation: string, user: string, sc: StatusContext = {}): void {
  if (status === 200) {
    // Some servers send SOAP faults with 200 (gromox does); decoders handle those. A body that is no SOAP envelope
    // at all (an HTML page) means the URL does not lead to EWS.
    if (!looksLikeSoap(body)) throw notEwsAnswer({ status, body: (sc.redact ?? ((t: string) => t))(body.slice(0, MAX_SHOWN_BODY)), headers: sc.headers, operation, url: sc.url });
    return;
  }
  const said = sc.diagnostics ? ` (server: ${sc.diagnostics})` : '';
  if (status === 401) {
    throw new AuthError(
      sc.advice
        ? `${operation}: the server rejected the credentials of ${user} (HTTP 401)${said} even after a new token: ${sc.advice(401)}.`
        : `${operation}: the server rejected the credentials of ${user} (HTTP 401)${said}. Check EWS_USER and the password (or token), and that this authentication scheme is enabled on the EWS virtual directory.`,
      { status },
    );
  }
  if (status === 403) {
    throw new AuthError(
      sc.advice
        ? `${operation}: access forbidden for ${user} (HTTP 403)${said}: ${sc.advice(403)}.`
        : `${operation}: access forbidden for ${user} (HTTP 403)${said}: the credentials were accepted but EWS is not allowed for this account or application (on Exchange Online, the tenant must allow EWS and this app id: Set-OrganizationConfig -EWSEnabled $true and -EwsAllowedAppIDs).`,
      { status },
    );
  }
  const redact = sc.redact ?? ((text: string) => text);
  // [ews] HTTP 503 "EWS requests are queuing with IIS" (protocol-notes.md §4.4): its Retry-After is the server's hint.
  const backOffMs = parseRetryAfter(sc.headers?.['retry-after'], sc.now);
  const fault = safeDecodeFault(body);
  if (fault) {
    throw new EwsResponseError(fault.responseCode, redact(`${operation}: ${fault.responseCode}: ${cleanText(fault.messageText)}`.trim()), {
      backOffMs: fault.backOffMs ?? backOffMs,
      subscriptionIds: fault.subscriptionIds,
    });
  }
  // The page's text reaches messages (a title, an excerpt): redacted first, and before any cut, so that a cut cannot
  // leave the start of a secret that no longer matches it.
  const facts = { status, body: redact(body.slice(0, MAX_SHOWN_BODY)), headers: sc.headers, operation, url: sc.url, ...(backOffMs === undefined ? {} : { backOffMs }) };
  if (status >= 300 && status < 400) throw redirectAnswer(facts);
  const excerpt = redact(stripControl(body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ')).trim().slice(0, MAX_REDACTED)).slice(0, 120);
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) throw clientErrorAnswer(facts, excerpt);
  throw new TransportError(`${operation}: HTTP ${status} from the server${excerpt ? ` (${excerpt})` : ''}`, { status, ...(backOffMs === undefined ? {} : { backOffMs }) });
}

function safeDecodeFault(body: string): ReturnType<typeof decodeFault> {
  try {
    return decodeFault(body);
  } catch {
    return undefined;
  }
}
