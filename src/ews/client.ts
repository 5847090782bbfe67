// What ews-watch asks of an EWS server, as interfaces: one slice per consumer (the engine's three streaming calls,
// the catch-up's sync calls, the lookups of --details, finding the mailbox, and the writes of `check --live` and the
// conformance run), and EwsClient, all of them. The real implementation is src/transport/ews-client.ts (undici);
// tests hand each consumer a scripted fake of its slice. Errors thrown are those of src/errors.ts: AuthError
// (401/403), EwsResponseError (an EWS response code or SOAP fault, with backOffMs), TransportError (network, HTTP
// 5xx, non-EWS bodies), ProtocolError. Types only, beside the codec whose types they use.

import type { ConvertIdResult, ResolveNamesResult } from './identity.js';
import type { FolderResult, ItemResult } from './items.js';
import type { SyncHierarchyPage, SyncItemsPage } from './sync.js';
import type { FolderRef } from './types.js';
import type { MailboxWriter } from './writes.js';

export type { MailboxWriter };

/** The engine (src/watch/): a streaming subscription and its hanging request. */
export interface WatchClient {
  /** Subscribe (streaming) to the configured folders and event types; resolves with the SubscriptionId. */
  subscribe(signal?: AbortSignal): Promise<string>;
  /** Unsubscribe; resolves when the server confirmed it, with 'already-gone' when it answered ErrorSubscriptionNotFound. */
  unsubscribe(subscriptionId: string, signal?: AbortSignal): Promise<UnsubscribeResult | void>;
  /**
   * Opens the hanging GetStreamingEvents request on its own connection and resolves with the response body once
   * the server answered 200. Non-200 answers are thrown as errors (a SOAP fault body as EwsResponseError).
   * Aborting `signal` ends the request and the body iteration.
   */
  openStream(subscriptionId: string, connectionTimeoutMinutes: number, signal: AbortSignal): Promise<AsyncIterable<Uint8Array>>;
}

/** 'already-gone': the server did not hold the subscription any more (ErrorSubscriptionNotFound), which is fine. */
export type UnsubscribeResult = 'unsubscribed' | 'already-gone';

/** The catch-up (src/catchup/). */
export interface SyncClient {
  syncFolderItems(o: { folder: FolderRef; syncState?: string; maxChanges: number }, signal?: AbortSignal): Promise<SyncItemsPage>;
  /**
   * GetItem of the ids and ChangeKeys alone: whether items printed since the saved state still exist, and the real
   * ChangeKey of items the stream printed (notifications carry none).
   */
  lookUpItems?(itemIds: readonly string[], signal?: AbortSignal): Promise<ItemResult[]>;
  /** SyncFolderHierarchy; with --all-folders, which folders there are. */
  syncFolderHierarchy?(o: { syncState?: string; root?: FolderRef }, signal?: AbortSignal): Promise<SyncHierarchyPage>;
}

/** --details and folder names (src/enrich/). */
export interface EnrichClient {
  /** One result per id, in order (protocol-notes.md §8). Throws for a failed call (HTTP, fault, transport). */
  getItems(itemIds: readonly string[], signal?: AbortSignal): Promise<ItemResult[]>;
  /** One result per folder, in order. */
  getFolders(folders: readonly FolderRef[], signal?: AbortSignal): Promise<FolderResult[]>;
}

/** Finding the primary SMTP address of a DOMAIN\\user sign-in (src/auth/find-mailbox.ts). */
export interface IdentityClient {
  /** GetFolder of the distinguished folder root, IdOnly. */
  rootFolder(signal?: AbortSignal): Promise<FolderResult>;
  /** ConvertId of one EwsId said to live in `mailbox`, to EwsId. */
  convertId(id: string, mailbox: string, signal?: AbortSignal): Promise<ConvertIdResult>;
  resolveNames(entry: string, signal?: AbortSignal): Promise<ResolveNamesResult>;
}

/** Everything: what src/transport/ews-client.ts implements. */
export type EwsClient = WatchClient & SyncClient & EnrichClient & IdentityClient & MailboxWriter;
