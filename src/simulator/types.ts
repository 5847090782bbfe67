// Public types of the simulated Exchange server (options, recorded requests, scripts, the Simulator handle).
// No code here; src/simulator/index.ts is the entry point that implements them.

import type { EwsId } from '../ews/types.js';
import type { FarmOptions } from './farm-config.js';

export type { EwsId };
export type { FarmLimits, FarmOptions, MailboxSpec } from './farm-config.js';

/** The EWS operations the simulator answers (any other body root gets an ErrorInvalidRequest fault). */
export type SimOperation =
  | 'Subscribe'
  | 'Unsubscribe'
  | 'GetStreamingEvents'
  | 'SyncFolderItems'
  | 'SyncFolderHierarchy'
  | 'GetItem'
  | 'GetFolder'
  | 'ConvertId'
  | 'ResolveNames'
  | 'CreateFolder'
  | 'DeleteFolder'
  | 'FindFolder'
  | 'CreateItem'
  | 'UpdateItem'
  | 'MoveItem'
  | 'CopyItem'
  | 'DeleteItem';

/** The seven subscribable EWS event element names. */
export type SimEventType =
  | 'CopiedEvent'
  | 'CreatedEvent'
  | 'DeletedEvent'
  | 'ModifiedEvent'
  | 'MovedEvent'
  | 'NewMailEvent'
  | 'FreeBusyChangedEvent';

/** One event as the simulator writes it inside a streaming m:Notification. */
export interface SimEvent {
  type: SimEventType;
  /** xs:dateTime, UTC, second precision, e.g. 2024-05-01T09:30:00Z. */
  timestamp: string;
  kind: 'item' | 'folder';
  /** ItemId or FolderId. */
  id: EwsId;
  parent: EwsId;
  /** Moved/Copied: OldItemId or OldFolderId. */
  oldId?: EwsId;
  oldParent?: EwsId;
  /** Folder ModifiedEvent only. */
  unreadCount?: number;
}

export interface Person {
  name: string;
  address: string;
}

export type Importance = 'Low' | 'Normal' | 'High';

export interface MailInput {
  subject: string;
  from: Person;
  /** Default: the mailbox owner. */
  to?: Person[];
  /** xs:dateTime (any form Date.parse reads); default: the delivery time. Stored with second precision and a Z. */
  receivedAt?: string;
  /** Default false (new mail is unread). */
  isRead?: boolean;
  /** Default false. */
  hasAttachments?: boolean;
  /** Default Normal. */
  importance?: Importance;
  /** Bytes; default: an estimate from the subject, recipients and attachments. */
  size?: number;
  /** Default: a generated <…@sender-domain>. */
  internetMessageId?: string;
  /** Default IPM.Note (served as t:Message). */
  itemClass?: string;
}

/** A follow-up flag's status (t:FlagStatusType); no flag at all is NotFlagged. */
export type FlagStatus = 'NotFlagged' | 'Flagged' | 'Complete';

/** What modifyItem may change; the read flag has its own operation (markRead), as in Exchange's sync. */
export type ItemUpdate = Partial<Pick<MailInput, 'subject' | 'from' | 'to' | 'importance' | 'hasAttachments' | 'size'>> & { flag?: FlagStatus };

/** A message saved, not sent (CreateItem with MessageDisposition="SaveOnly"). */
export interface DraftInput {
  subject: string;
  body?: string;
}

export interface SimItem {
  id: string;
  changeKey: string;
  folderId: string;
  subject: string;
  from: Person;
  to: Person[];
  isRead: boolean;
  /** xs:dateTime of delivery. */
  receivedAt: string;
  internetMessageId: string;
  hasAttachments: boolean;
  importance: Importance;
  size: number;
  itemClass: string;
  /** A saved, unsent message (CreateItem SaveOnly): IsDraft true, no NewMail. */
  isDraft?: boolean;
  /** Absent: NotFlagged. */
  flag?: FlagStatus;
}

export interface SimFolder {
  id: string;
  changeKey: string;
  /** The distinguished name (inbox, sentitems, …) when it has one. */
  distinguished?: string;
  displayName: string;
  parentId?: string;
  unreadCount: number;
  totalCount: number;
  /** IPF.Note, IPF.Appointment, …; absent for the roots, as in Exchange. */
  folderClass?: string;
}

/** One entry of the mailbox change log (the raw material for a later SyncFolderItems). */
export interface ChangeRecord {
  seq: number;
  /** Milliseconds since the epoch. */
  at: number;
  folderId: string;
  kind: 'create' | 'update' | 'delete' | 'readflag';
  itemId: string;
  changeKey: string;
  isRead?: boolean;
}

/** One entry of the folder-hierarchy change log (the raw material for a later SyncFolderHierarchy). */
export interface FolderChangeRecord {
  /** Hierarchy sequence (its own counter, separate from ChangeRecord.seq). */
  seq: number;
  at: number;
  kind: 'create' | 'update' | 'delete';
  folderId: string;
  parentId?: string;
  changeKey: string;
}

/** What a mailbox operation did: the item or folder afterwards (absent after a hard delete) and the events it caused. */
export interface MailboxChange {
  item?: SimItem;
  folder?: SimFolder;
  events: SimEvent[];
}

export interface RecordedRequest {
  /** Arrival number: 1 for the first request, never reused (unlike indices into the bounded `requests`). */
  seq: number;
  /** Local name of the SOAP Body's first element (Subscribe, …), or '' when the body is not parseable XML. */
  operation: string;
  method: string;
  path: string;
  /** Lower-case names; repeated headers joined as Node joins them. */
  headers: Record<string, string>;
  body: string;
  /** Milliseconds since the epoch at arrival. */
  at: number;
  /** true when a Cookie header carried an X-BackEndOverrideCookie value this simulator issued. */
  cookieReplayed: boolean;
  /** Requests of this operation being answered when it arrived, itself included (the most at once is the largest). */
  inFlight: number;
  /** The address ExchangeImpersonation named, if any. */
  impersonated?: string;
  /** The X-AnchorMailbox header, if any. */
  anchorMailbox?: string;
  /** The X-BackEndOverrideCookie value the Cookie header carried, if any. */
  overrideCookie?: string;
  /** The backend server (FQDN) the request was routed to. */
  backend: string;
  /** Ordinary (non-streaming) requests in flight when it arrived, itself included when it is one. */
  requestsInFlight: number;
  /** GetStreamingEvents responses open when it arrived (not counting itself). */
  openStreams: number;
}

/** An envelope (or a deliberate fragment) written on a GetStreamingEvents response, for assertions. */
export interface SentEnvelope {
  connection: number;
  kind: 'heartbeat' | 'notification' | 'closed' | 'error' | 'lost' | 'raw' | 'partial';
  at: number;
  subscriptionIds: string[];
  events?: SimEvent[];
  /** ResponseCode, for kind 'error'. */
  code?: string;
  /** What was written; for a 'flood' envelope only its start (padding left out, long ids cut), with `bytes`. */
  xml: string;
  /** Bytes written, for a 'flood' envelope. */
  bytes?: number;
}

/** How an envelope is cut into separate writes: sizes in bytes (the rest goes last), or one byte per write. */
export type Split = number[] | 'bytes';

interface SplitOptions {
  split?: Split;
  /** Pause between the writes of a split, so they arrive separately (default 5 ms). */
  pauseMs?: number;
}

/** Steps that produce one envelope. `closed` and `error` (unless close:false) end the response after it. */
export type EnvelopeStep =
  | ({ op: 'heartbeat' } & SplitOptions)
  /** Deliver a new mail into the inbox (every matching subscription gets the events) and send this connection's queue. */
  | ({ op: 'newMail'; subject?: string; from?: Person; to?: Person[] } & SplitOptions)
  /** Explicit events for one subscription of this connection (default: its first). The mailbox is not touched. */
  | ({ op: 'notify'; events: SimEvent[]; subscriptionId?: string } & SplitOptions)
  /** Send whatever is queued for this connection's subscriptions (nothing when the queue is empty). */
  | ({ op: 'flush' } & SplitOptions)
  | ({ op: 'closed' } & SplitOptions)
  /**
   * ResponseClass="Error" with ErrorSubscriptionIds (this connection's ids unless given) and, unless close:false,
   * ConnectionStatus Closed and the end of the response. expire:true also deletes those subscriptions, as a lost one.
   */
  | ({
      op: 'error';
      code: string;
      message?: string;
      backOffMs?: number;
      subscriptionIds?: string[];
      close?: boolean;
      expire?: boolean;
    } & SplitOptions)
  /**
   * gromox's way of saying subscriptions are gone: an OK envelope with no error code listing them (this connection's
   * ids unless given) in ErrorSubscriptionIds, then a Closed envelope, which ends the response. expire:true also
   * deletes those subscriptions.
   */
  | ({ op: 'lost'; subscriptionIds?: string[]; expire?: boolean } & SplitOptions)
  /** Bytes written as they are (e.g. an XML declaration, a malformed envelope). */
  | ({ op: 'raw'; text: string } & SplitOptions);

export type StreamStep =
  | EnvelopeStep
  /** Several envelopes rendered back to back and written as one chunk (or split as asked). */
  | ({ op: 'batch'; steps: EnvelopeStep[] } & SplitOptions)
  /** Write the first `bytes` (default: half) of an envelope, then destroy the socket. */
  | { op: 'drop'; envelope?: 'heartbeat' | 'newMail'; bytes?: number }
  /**
   * `text` written again and again, as fast as the client reads it, until the client goes away or `bytes` were
   * written (then the next step): after a `raw` '<!--', a comment that never ends. Recorded once, as 'raw'.
   */
  | { op: 'repeat'; text: string; bytes?: number }
  /** Send nothing more and keep the socket open until the client gives up or the simulator closes. */
  | { op: 'stall' }
  /** End the chunked body cleanly without ConnectionStatus Closed. */
  | { op: 'end' }
  /**
   * A hostile server's flood (stream-flood.ts): `count` notification envelopes back to back, each write waiting until
   * the client has read the last. Each is one new mail delivered into the inbox, as newMail, unless `itemIdChars`
   * asks for a NewMailEvent about an item id that long instead (no such item exists). `padTo` pads each envelope
   * with whitespace to that many bytes; `changeKeys: 'real'` sends the items' real ChangeKeys (some 40 characters)
   * instead of Exchange's placeholder.
   */
  | { op: 'flood'; count: number; padTo?: number; itemIdChars?: number; changeKeys?: 'placeholder' | 'real' }
  | { op: 'wait'; ms: number };

/** What one ordinary request gets instead of the default behaviour. `delayMs` waits before answering. */
export type ScriptResponse =
  /** A plain HTTP answer; 401 carries the usual WWW-Authenticate offers unless `headers` sets its own. */
  | { status: number; body?: string; headers?: Record<string, string>; delayMs?: number }
  /** A SOAP fault (HTTP 500 unless `status`), e.g. { fault: 'ErrorServerBusy', backOffMs: 5000 }. */
  | { fault: string; message?: string; backOffMs?: number; status?: number; delayMs?: number }
  /**
   * HTTP 200 with a ResponseClass="Error" message; for GetStreamingEvents an in-stream error then Closed; for GetItem,
   * GetFolder and ConvertId one such message per requested id; for the sync operations with an empty SyncState.
   */
  | { error: string; message?: string; backOffMs?: number; delayMs?: number }
  /**
   * An error page that echoes the request's headers (a proxy's or gateway's diagnostic page does): 'html' lists
   * them by name in an HTML page; 'fault' is a SOAP fault (`code`, default ErrorInternalServerError, with
   * BackOffMilliseconds when given) whose MessageText lists them. HTTP 500 unless `status`.
   */
  | { echo: 'html' | 'fault'; status?: number; code?: string; backOffMs?: number; delayMs?: number }
  /** Never answer (until the client gives up or the simulator closes). */
  | { hang: true }
  /**
   * The default answer, its headers at once and then its body one byte every `everyMs` (never gzipped): each byte
   * well within any idle timeout, the whole far beyond any sensible wait. Recorded in `trickles`.
   */
  | { trickle: { everyMs: number } }
  /** The default behaviour, after a delay. */
  | { delayMs: number };

/** An answer scripted with `trickle`, and when it ended. */
export interface TrickleRecord {
  operation: string;
  /** The `seq` of the request it answers. */
  seq: number;
  /** Set when the answer ended: by its last byte (`complete`) or because the client closed the connection. */
  ended?: {
    complete: boolean;
    /** How many requests had arrived by then: a request with `seq` at most this came before the end. */
    afterRequests: number;
  };
}

/** One queued script entry; an array of steps is a GetStreamingEvents stream script. */
export type ScriptEntry = ScriptResponse | StreamStep[];

export interface SubscriptionInfo {
  id: string;
  /** 'all' for SubscribeToAllFolders, else the FolderIds. */
  folders: 'all' | string[];
  /** Many mailboxes only: the mailbox it watches and the backend that holds it. */
  mailbox?: string;
  backend?: string;
  eventTypes: SimEventType[];
  /** Events waiting for a connection. */
  queued: number;
  connected: boolean;
  createdAt: number;
}

export interface StreamInfo {
  id: number;
  subscriptionIds: string[];
  openedAt: number;
  mode: 'script' | 'live' | 'stalled';
  /** Many mailboxes only: the backend serving it, and the account its hanging connection is charged to. */
  backend?: string;
  account?: string;
}

/** A verified NTLM AUTHENTICATE: the names as the client sent them and the connection that now carries the login. */
export interface NtlmLogin {
  user: string;
  /** '' for a UPN logon (alice@contoso.com). */
  domain: string;
  workstation: string;
  /** Simulator-assigned number of the socket (1, 2, …; in order of first NTLM use). */
  connection: number;
  remotePort: number;
  at: number;
}

/** An NTLM token the simulator refused (malformed, out of order, NTLMv1, unknown account or wrong password). */
export interface NtlmRejection {
  reason: string;
  /** As sent in an AUTHENTICATE that could be read. */
  user?: string;
  domain?: string;
  connection: number;
  remotePort: number;
  at: number;
}

/**
 * What one autodiscover endpoint answers: 'settings' (the mailbox's EWS URL, or `ewsUrl`), a redirect to another
 * address or autodiscover URL in the protocol's own words, or a bare HTTP status (with Location for a 3xx).
 */
export type AutodiscoverReply = 'settings' | { ewsUrl: string } | { redirectAddr: string } | { redirectUrl: string } | { status: number; location?: string };

/** One host name's autodiscover: SOAP (.svc) and POX (.xml); absent means IIS's 404; `httpRedirect` answers a plain GET with a 302. */
export interface AutodiscoverHost {
  soap?: AutodiscoverReply;
  pox?: AutodiscoverReply;
  httpRedirect?: string;
}

export interface AutodiscoverOptions {
  /** By the Host header's name (lower case); without it every host answers settings at both endpoints. */
  hosts?: Record<string, AutodiscoverHost>;
  /** The EWS URL settings carry; default the simulator's own. */
  ewsUrl?: string;
  /**
   * Default Default-First-Site-Name (the AD site: what an on-premises capture showed); with `backends`/`mailboxes`,
   * each mailbox's backend's first label (EXSIM01), so that grouping across backends can be tested.
   */
  groupingInformation?: string;
}

/**
 * With `mailboxes` or `backends` (FarmOptions) the server is an organisation of many mailboxes on several backends,
 * the signed-in account (`mailbox`) a service account with ApplicationImpersonation (farm.ts); e.g.
 * `{ mailbox: 'svc@contoso.com', mailboxes: 450, backends: 2, noImpersonation: ['user007@contoso.com'] }`.
 * Without them, one mailbox on one server, as before.
 */
export interface SimulatorOptions extends FarmOptions {
  /** Autodiscover at /autodiscover/autodiscover.svc and .xml (src/simulator/autodiscover.ts). */
  autodiscover?: AutodiscoverOptions;
  /** Default: a random free port on 127.0.0.1. */
  port?: number;
  /** The account for Basic and NTLM: a UPN, DOMAIN\user or a bare name; default: the mailbox address. */
  user?: string;
  /** The account's password; default: random. */
  password?: string;
  /** NetBIOS domain for NTLM (and Basic) `DOMAIN\user` logons with the UPN's local part; default CONTOSO. */
  domain?: string;
  /** Schemes offered in a 401 and accepted; both default true. Bearer follows `tokens`/`acceptToken`. */
  auth?: { basic?: boolean; ntlm?: boolean };
  /** Serve https with this PEM key and certificate (the url becomes https://127.0.0.1:PORT/…). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Accepted bearer tokens. */
  tokens?: string[];
  /** Also accept a bearer token when this says so (asked on every request, so tokens can expire mid-stream). */
  acceptToken?: (token: string) => boolean;
  /** SMTP address of the simulated mailbox; default alice@contoso.com. */
  mailbox?: string;
  /** Other people in the directory, for ResolveNames (the mailbox's owner is always there). */
  directory?: Person[];
  /**
   * How the calls that find a DOMAIN\user's SMTP address are answered. ConvertId 'exchange' (default): the
   * mailbox's address, whatever Mailbox the request carried; 'unsupported': an ErrorInvalidRequest SOAP fault, as a
   * server without the operation. ResolveNames 'exchange' (default): a directory lookup; 'no-results':
   * ErrorNameResolutionNoResults for every name; 'unsupported': the fault.
   */
  identity?: { convertId?: 'exchange' | 'unsupported'; resolveNames?: 'exchange' | 'no-results' | 'unsupported' };
  /**
   * Interval of ConnectionStatus OK heartbeats; default 10 000 ms. 0: none at all, as Exchange Online was reported to
   * send (protocol-notes.md §2.4: the real interval is unconfirmed).
   */
  heartbeatMs?: number;
  /** Length of a ConnectionTimeout minute; default 60 000 (tests shrink it). */
  minuteMs?: number;
  /** Send an OK envelope as soon as a stream opens with nothing queued (default true). */
  initialHeartbeat?: boolean;
  /** The inbox starts with a few mails, and mail arrives by itself: first after ~1 s, then every `intervalMs` (default 4 000) with jitter. */
  demo?: boolean | { intervalMs?: number };
  /** GetStreamingEvents and Unsubscribe without the issued X-BackEndOverrideCookie get ErrorSubscriptionNotFound. */
  requireAffinity?: boolean;
  /** A reverse proxy or load balancer between the client and the simulated Exchange (front-door.ts). */
  proxy?: ProxyBehaviour;
  /** gzip ordinary responses when the request accepts gzip, as IIS does (default true; never the stream). */
  compress?: boolean;
  /**
   * Items the mailbox holds (default 10 000): past it the oldest is removed silently, as a retention policy would,
   * and a later sync reports it deleted. A soak that delivers more mail and wants none of that raises it.
   */
  maxItems?: number;
  /** Events kept per subscription while no connection is open; beyond it ErrorMissedNotificationEvents (default 1000). */
  maxQueuedEvents?: number;
  /**
   * How the server treats a subscription it no longer holds (expireSubscription, or a GetStreamingEvents naming an
   * unknown id). 'exchange' (default): ResponseClass="Error" ErrorSubscriptionNotFound with the id in
   * ErrorSubscriptionIds, then Closed; ids are never reused. 'gromox', as gromox 2.17 was seen doing: an OK envelope
   * with no error code listing the id in ErrorSubscriptionIds, then Closed; and subscription ids are small counters
   * (BAAAAAFAAAAA, …AB, …) where the lowest free one goes to the next Subscribe, so a lost id is handed to the next
   * subscriber, whoever that is. One mailbox only: with `mailboxes`/`backends` the server is Exchange.
   */
  lostSubscriptions?: 'exchange' | 'gromox';
  /**
   * As gromox 2.17 does: a read-flag change and a move (a soft delete too) are streamed only as the folders'
   * ModifiedEvents, without the item's ModifiedEvent or MovedEvent. SyncFolderItems reports them as usual.
   */
  readAndMoveAsFolderEvents?: boolean;
  /**
   * Ordinary (non-streaming) requests answered at once, as Exchange's EWSMaxConcurrency (default 27, Exchange
   * Online's): one more is refused with the ErrorExceededConnectionCount fault (MaxConcurrency policy) Exchange sends.
   */
  maxConcurrency?: number;
  /** Milliseconds an operation takes to answer, e.g. { GetItem: 40 }, as a loaded server does: requests overlap. */
  serviceMs?: Partial<Record<SimOperation, number>>;
  log?: (line: string) => void;
}

/**
 * What sits in front of Exchange and changes the traffic. Each behaviour is a real product's default or a common
 * setting; they combine. Bytes a proxy holds back are held from every answer, not only the stream.
 */
export interface ProxyBehaviour {
  /**
   * Response buffering, as nginx does by default (`proxy_buffering on`; Exchange's X-NoBuffering header means nothing
   * to nginx, which knows only X-Accel-Buffering) and IIS ARR with a response buffer: the head passes at once, the
   * body only when the answer ends or `flushBytes` (default 64 KiB, nginx's buffers filling) are held. A stream's
   * events then arrive together with its Closed, up to ConnectionTimeout minutes late.
   */
  buffering?: boolean | { flushBytes: number };
  /**
   * An idle timeout: a connection that carried no byte to the client for this long is cut (mid-body: the socket
   * closes; before the head: 504 Gateway Timeout). AWS ALB's idle timeout and nginx's proxy_read_timeout are 60 s by
   * default, HAProxy's `timeout server` is commonly set so. true: one simulated minute (minuteMs). Combine with rare
   * heartbeats (heartbeatMs) for a stream that stays quiet that long.
   */
  idleTimeoutMs?: number | true;
  /**
   * A balancer that does not keep cookies: 'answers' strips Set-Cookie from every answer, 'requests' the Cookie
   * header from every request, 'both' both. Harmless alone; with requireAffinity (a farm where the server that holds
   * a subscription is found by X-BackEndOverrideCookie) the stream lands where the subscription is not known.
   */
  stripCookies?: 'answers' | 'requests' | 'both';
}

/** One mailbox of many (Simulator.mailbox): changes to it reach every subscription for it, on any backend. */
export interface SimMailbox {
  readonly address: string;
  /** The backend server (FQDN) it lives on. */
  readonly backend: string;
  deliverMail(mail: Partial<MailInput>): MailboxChange;
  markRead(itemId: string, isRead?: boolean): MailboxChange;
  moveItem(itemId: string, folder: string): MailboxChange;
  deleteItem(itemId: string, options?: { hard?: boolean; soft?: boolean }): MailboxChange;
  items(folder?: string): SimItem[];
  folder(nameOrId: string): SimFolder | undefined;
}

export interface Simulator {
  /** http://127.0.0.1:PORT/EWS/Exchange.asmx (https:// with the `tls` option) */
  readonly url: string;
  readonly port: number;
  readonly mailboxAddress: string;
  /** Every mailbox address, the signed-in account's first (just it without `mailboxes`). */
  readonly mailboxes: readonly string[];
  /** The backend servers' FQDNs (one without `backends`). */
  readonly backends: readonly string[];
  /** A mailbox by address (case-insensitive); UsageError for one the server does not have. */
  mailbox(address: string): SimMailbox;
  /** Grant or withdraw the service account's impersonation right over a mailbox (many mailboxes only). */
  setImpersonation(address: string, allowed: boolean): void;
  readonly credentials: { user: string; password: string };
  /** NTLM: the NetBIOS domain it accepts, verified logons and refused tokens, in order (each bounded to 10 000). */
  readonly ntlm: { readonly domain: string; readonly logins: NtlmLogin[]; readonly rejections: NtlmRejection[] };
  /** Every request, in arrival order (bounded to the last 10 000). */
  readonly requests: RecordedRequest[];
  /** Ordinary requests in flight and GetStreamingEvents responses open, right now (each request's share is in `requests`). */
  load(): { requestsInFlight: number; openStreams: number };
  /** Every envelope written on a stream, in order (bounded to the last 10 000). */
  readonly sent: SentEnvelope[];
  /** Queue per-request overrides for an operation; each entry is consumed by one authenticated request. */
  script(operation: 'GetStreamingEvents', ...entries: ScriptEntry[]): void;
  script(operation: SimOperation, ...entries: ScriptResponse[]): void;
  /** Entries still queued for an operation. */
  pendingScripts(operation: SimOperation): number;
  /**
   * Throttles the account for `forMs`, as Exchange does once a budget is spent: every request for these operations
   * is answered ErrorServerBusy with BackOffMilliseconds `backOffMs` (default 0, which Exchange Online has been seen
   * to suggest: "Suggested backoff time 0 ms"): a SOAP fault for Subscribe, an in-stream error and Closed for
   * GetStreamingEvents, a ResponseClass="Error" message for the others. Comes before queued scripts. `from`:
   * 'first-request' starts the time when the first of those requests arrives (a test then need not guess how long a
   * client takes to start); the default starts it now.
   */
  throttle(operations: readonly SimOperation[], o: { forMs: number; backOffMs?: number; from?: 'now' | 'first-request' }): void;
  /** The answers scripted with `trickle`, in order (bounded to the last 10 000). */
  readonly trickles: TrickleRecord[];
  deliverMail(mail: Partial<MailInput>): MailboxChange;
  markRead(itemId: string, isRead?: boolean): MailboxChange;
  /** `folder`: a distinguished name, a FolderId or a display name. The item gets a new id. */
  moveItem(itemId: string, folder: string): MailboxChange;
  copyItem(itemId: string, folder: string): MailboxChange;
  /** Default: move to Deleted Items; hard (or already there) = DeletedEvent; soft = into Recoverable Items (MovedEvent). */
  deleteItem(itemId: string, options?: { hard?: boolean; soft?: boolean }): MailboxChange;
  /** A draft saved in `folder` (as CreateItem SaveOnly does): CreatedEvent + the folder's ModifiedEvent, no NewMail. */
  saveDraft(folder: string, draft: DraftInput): MailboxChange;
  /** Change properties other than the read flag: new ChangeKey, item ModifiedEvent, an Update in later syncs. */
  modifyItem(itemId: string, changes: ItemUpdate): MailboxChange;
  /** A new folder under `parent` (default msgfolderroot): folder CreatedEvent + parent ModifiedEvent. */
  createFolder(name: string, parent?: string): MailboxChange;
  /** Rename a folder that is not a default folder: folder ModifiedEvent, an Update in later hierarchy syncs. */
  renameFolder(folder: string, name: string): MailboxChange;
  /** Hard-delete a non-default folder with its subfolders and items: DeletedEvent per folder + parent ModifiedEvent. */
  deleteFolder(folder: string): MailboxChange;
  items(folder?: string): SimItem[];
  /** The live item with this id, or undefined. */
  item(id: string): SimItem | undefined;
  folders(): SimFolder[];
  /** Resolves a distinguished name, FolderId or display name to a folder. */
  folder(nameOrId: string): SimFolder | undefined;
  changes(): readonly ChangeRecord[];
  folderChanges(): readonly FolderChangeRecord[];
  /**
   * Cut every later ordinary (non-streaming) answer into separate writes on a chunked body, e.g. 'bytes' or
   * [37, 5], so a client's decoder meets multi-byte characters split across chunks. No argument: whole again.
   */
  splitReplies(split?: Split, pauseMs?: number): void;
  subscriptions(): SubscriptionInfo[];
  connections(): StreamInfo[];
  /**
   * Lose a subscription server-side; an open stream on it gets `code` (default ErrorSubscriptionNotFound), or with
   * lostSubscriptions 'gromox' gromox's OK envelope listing the id in ErrorSubscriptionIds, then Closed.
   */
  expireSubscription(id: string, code?: string): boolean;
  /**
   * A server that loses a change: the next new item (delivered or saved as a draft) is never
   * reported, neither streamed nor by SyncFolderItems, nor is any later change to it. For testing that a harness
   * notices a missed change (the conformance run).
   */
  loseNextCreated(): void;
  /** Destroy the sockets of every open GetStreamingEvents response (no Closed). */
  dropConnections(): number;
  /** Resolves once `predicate()` is true, re-checking on every request, write and state change. */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  /** Resolves with the next request (after this call) whose operation matches, if given. */
  nextRequest(operation?: string, timeoutMs?: number): Promise<RecordedRequest>;
  /** Ends every response and socket, stops the demo, and closes the server. */
  close(): Promise<void>;
}
