// The default behaviour of the three EWS operations the simulator serves: Subscribe (streaming), Unsubscribe
// and GetStreamingEvents, with the response codes Exchange gives for unknown folders, ids and takeovers.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { IdFactory } from './ids.js';
import type { Mailbox } from './mailbox.js';
import type { DecodedRequest, RequestPayload, RequestedFolder } from './request-decoder.js';
import { reply, startStream, type ReplyOptions } from './http-reply.js';
import { buildResponseError, buildSubscribeSuccess, buildUnsubscribeSuccess } from './soap-responses.js';
import type { Subscription, SubscriptionRegistry } from './subscriptions.js';
import type { MailboxChange, StreamStep } from './types.js';
import type { IdentityConfig } from './identity-config.js';

export interface SimContext {
  mailbox: Mailbox;
  registry: SubscriptionRegistry;
  ids: IdFactory;
  replyOptions: ReplyOptions;
  minuteMs: number;
  requireAffinity: boolean;
  /** How a lost subscription is reported: Exchange's ErrorSubscriptionNotFound or gromox's OK + ErrorSubscriptionIds. */
  lostSubscriptions: 'exchange' | 'gromox';
  /** X-BackEndOverrideCookie values handed out by Subscribe. */
  issuedCookies: Set<string>;
  /** ConvertId and ResolveNames: the directory and how they answer. */
  identity: IdentityConfig;
  /**
   * Hands a change's events to the subscriptions, as test-driven changes are; `itemEvent` names the item event a
   * server quirk may leave out (readAndMoveAsFolderEvents: a read-flag ModifiedEvent, a MovedEvent).
   */
  deliver(change: MailboxChange, itemEvent?: 'ModifiedEvent' | 'MovedEvent'): void;
  /** Items whose changes the server lost (Simulator.loseNextCreated): never streamed, left out of SyncFolderItems. */
  lostItems: ReadonlySet<string>;
  /** Start serving a GetStreamingEvents response (headers already sent). */
  openStream(res: ServerResponse, subs: Subscription[], timeoutMs: number, steps?: readonly StreamStep[], opts?: StreamOpenOptions): void;
  log(line: string): void;
  /** Many mailboxes (farm.ts): Subscribe's Set-Cookie values, instead of the single-server default. */
  subscribeCookies?(call: OperationCall): string[];
  /** Many mailboxes: the code refusing one more subscription for this mailbox (its budget is spent), if any. */
  admitSubscription?(): string | undefined;
  /**
   * Many mailboxes: a GetStreamingEvents naming ids this backend holds and ids it does not gets the error for the
   * unknown ones without ConnectionStatus Closed, then stays open delivering nothing for the others (§4.5).
   */
  starveMixedIds?: boolean;
}

export interface StreamOpenOptions {
  /** Stay open until ConnectionTimeout (heartbeats, then Closed) even with no subscription to serve. */
  idle?: boolean;
  /** The backend serving it and the account its hanging connection is charged to (StreamInfo). */
  backend?: string;
  account?: string;
}

export interface OperationCall {
  req: IncomingMessage;
  res: ServerResponse;
  request: DecodedRequest;
  cookieReplayed: boolean;
}

type Payload<K extends RequestPayload['kind']> = Extract<RequestPayload, { kind: K }>;

/** Opaque ids are base64; anything else is malformed before it is unknown. */
export const looksLikeId = (id: string): boolean => id.length >= 8 && id.length <= 1024 && /^[A-Za-z0-9+/_-]+={0,2}$/.test(id);

/** The FolderId a request names, or the response code Exchange gives for it. */
export function resolveRequestedFolder(mailbox: Mailbox, folder: RequestedFolder): string | { code: string } {
  if (folder.kind === 'distinguished') {
    if (folder.mailbox !== undefined && folder.mailbox.toLowerCase() !== mailbox.address.toLowerCase()) return { code: 'ErrorNonExistentMailbox' };
    return mailbox.folders().find((f) => f.distinguished === folder.name)?.id ?? { code: 'ErrorFolderNotFound' };
  }
  if (!looksLikeId(folder.id)) return { code: 'ErrorInvalidIdMalformed' };
  return mailbox.folders().find((f) => f.id === folder.id)?.id ?? { code: 'ErrorFolderNotFound' };
}

export function handleSubscribe(ctx: SimContext, call: OperationCall, payload: Payload<'Subscribe'>): void {
  const fail = (code: string, message?: string): void =>
    reply(call.req, call.res, ctx.replyOptions, 200, buildResponseError('Subscribe', { code, ...(message ? { message } : {}) }));
  if (!payload.streaming) return fail('ErrorInvalidSubscriptionRequest', 'This server accepts streaming subscriptions only.');
  // [ews] all folders = SubscribeToAllFolders with FolderIds omitted (protocol-notes.md §1.2)
  if (payload.allFolders === payload.folders.length > 0) {
    return fail('ErrorInvalidSubscriptionRequest', payload.allFolders ? 'SubscribeToAllFolders cannot be combined with FolderIds.' : 'No folders to subscribe to.');
  }
  const folderIds: string[] = [];
  for (const folder of payload.folders) {
    const resolved = resolveRequestedFolder(ctx.mailbox, folder);
    if (typeof resolved !== 'string') return fail(resolved.code);
    folderIds.push(resolved);
  }
  const refused = ctx.admitSubscription?.();
  if (refused) return fail(refused);
  const sub = ctx.registry.create(payload.allFolders ? 'all' : folderIds, payload.eventTypes, ctx.mailbox.address);
  ctx.log(`subscribe ${sub.id.slice(0, 16)}… folders=${payload.allFolders ? 'all' : payload.folders.map((f) => (f.kind === 'id' ? 'id' : f.name)).join(',')}`);
  // [ews] affinity: the Subscribe response sets X-BackEndOverrideCookie (and X-BackEndCookie) (protocol-notes.md §4.1)
  reply(call.req, call.res, ctx.replyOptions, 200, buildSubscribeSuccess(sub.id), { 'Set-Cookie': ctx.subscribeCookies?.(call) ?? singleServerCookies(ctx) });
}

function singleServerCookies(ctx: SimContext): string[] {
  const cookie = ctx.ids.affinityCookie();
  ctx.issuedCookies.add(cookie);
  return [`X-BackEndOverrideCookie=${cookie}; path=/; HttpOnly`, `X-BackEndCookie=${ctx.ids.backEndCookie(ctx.mailbox.address)}; path=/EWS; HttpOnly`];
}

export function handleUnsubscribe(ctx: SimContext, call: OperationCall, payload: Payload<'Unsubscribe'>): void {
  const misrouted = ctx.requireAffinity && !call.cookieReplayed;
  const sub = misrouted ? undefined : ctx.registry.remove(payload.subscriptionId);
  if (!sub) {
    reply(call.req, call.res, ctx.replyOptions, 200, buildResponseError('Unsubscribe', { code: 'ErrorSubscriptionNotFound' }));
    return;
  }
  ctx.log(`unsubscribe ${sub.id.slice(0, 16)}…`);
  // [ews] ErrorSubscriptionUnsubscribed: unsubscribed while a connection was servicing it (protocol-notes.md §2.5)
  sub.connection?.detach([sub.id], 'ErrorSubscriptionUnsubscribed');
  reply(call.req, call.res, ctx.replyOptions, 200, buildUnsubscribeSuccess());
}

/** Ids this server cannot serve, as the in-stream error Exchange sends for them (HTTP 200, then Closed). */
function unservable(ctx: SimContext, call: OperationCall, ids: string[]): StreamStep[] | undefined {
  const invalid = ids.filter((id) => !looksLikeId(id));
  if (invalid.length) return [{ op: 'error', code: 'ErrorInvalidSubscription', subscriptionIds: invalid }];
  // Without the affinity cookie the request may land on a server that does not hold the subscription (§4.1).
  const unknown = ctx.requireAffinity && !call.cookieReplayed ? ids : ids.filter((id) => !ctx.registry.get(id));
  // gromox names an id it does not hold in an OK envelope without an error code, then closes (lostSubscriptions).
  if (unknown.length && ctx.lostSubscriptions === 'gromox') return [{ op: 'lost', subscriptionIds: unknown }];
  if (unknown.length) return [{ op: 'error', code: 'ErrorSubscriptionNotFound', subscriptionIds: unknown }];
  return undefined;
}

/**
 * A stream refused for some ids. [ews] UNCONFIRMED wire form (protocol-notes.md §4.5): with many mailboxes, when the
 * backend holds some of the ids, the unknown ones are named in an error without Closed and the connection then stays
 * open delivering nothing for the others (exchangelib: "notifications for the good subscriptions seem to never be
 * returned"); their events wait in their subscriptions for a connection without the bad ids.
 */
function openRefused(ctx: SimContext, call: OperationCall, ids: string[], timeoutMs: number, errorSteps: StreamStep[]): void {
  const first = errorSteps[0];
  const mixed = ctx.starveMixedIds && first?.op === 'error' && first.code === 'ErrorSubscriptionNotFound' && ids.some((id) => ctx.registry.get(id));
  if (mixed) return ctx.openStream(call.res, [], timeoutMs, [{ ...first, close: false }], { idle: true });
  ctx.openStream(call.res, [], timeoutMs, errorSteps);
}

export function handleGetStreamingEvents(
  ctx: SimContext,
  call: OperationCall,
  payload: Payload<'GetStreamingEvents'>,
  steps?: readonly StreamStep[],
): void {
  const timeoutMs = payload.connectionTimeout * ctx.minuteMs;
  startStream(call.res, ctx.replyOptions);
  // A scripted stream runs on whatever ids are known; otherwise unknown ids get Exchange's in-stream error.
  const errorSteps = steps ? undefined : unservable(ctx, call, payload.subscriptionIds);
  if (errorSteps) return openRefused(ctx, call, payload.subscriptionIds, timeoutMs, errorSteps);
  const subs = [...new Set(payload.subscriptionIds)].flatMap((id) => ctx.registry.get(id) ?? []);
  // [ews] a second connection ends the first with ErrorNewEventStreamConnectionOpened (protocol-notes.md §2.4)
  for (const sub of subs) sub.connection?.detach([sub.id], 'ErrorNewEventStreamConnectionOpened');
  ctx.openStream(call.res, subs, timeoutMs, steps);
}
