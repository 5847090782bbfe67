// Types shared by the pure protocol code (src/ews) and its users. No I/O here.

/** The seven event kinds of the contract, in their short spelling. */
export const EVENT_TYPES = [
  'NewMail',
  'Created',
  'Deleted',
  'Modified',
  'Moved',
  'Copied',
  'FreeBusyChanged',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** An Id/ChangeKey pair as EWS sends it on ItemId, FolderId, ParentFolderId, OldItemId, … */
export interface EwsId {
  id: string;
  changeKey?: string;
}

/** One decoded notification event. Item and folder events are told apart by `kind`. */
export interface EwsEvent {
  type: EventType;
  subscriptionId: string;
  /** The server's TimeStamp, as sent. */
  timestamp: string;
  kind: 'item' | 'folder';
  /** The ItemId or FolderId the event is about. */
  target: EwsId;
  parentFolderId?: EwsId;
  /** Moved and Copied: OldItemId or OldFolderId. */
  oldTarget?: EwsId;
  oldParentFolderId?: EwsId;
  /** Folder ModifiedEvent only. */
  unreadCount?: number;
}

/** An EWS error as carried by a ResponseMessage with ResponseClass="Error" or by a SOAP fault. */
export interface EwsErrorInfo {
  /** e.g. ErrorSubscriptionNotFound; for a SOAP fault without an EWS code, the faultcode. */
  responseCode: string;
  messageText: string;
  /** BackOffMilliseconds from MessageXml, when present. */
  backOffMs?: number;
  /** ErrorSubscriptionIds, when present. */
  subscriptionIds: string[];
  /** true when it came as a SOAP Fault rather than a response message. */
  fault: boolean;
}

/** What one GetStreamingEvents envelope can tell us, in document order. */
export type StreamMessage =
  | { kind: 'event'; event: EwsEvent }
  /** ConnectionStatus OK: the server's heartbeat. */
  | { kind: 'heartbeat' }
  /** ConnectionStatus Closed: the server ends this connection normally. */
  | { kind: 'closed' }
  | { kind: 'error'; error: EwsErrorInfo }
  /**
   * A message that is no error (no error ResponseCode, ResponseClass not Error) but lists subscriptions in
   * ErrorSubscriptionIds: the server no longer serves them. gromox does this for a subscription it lost.
   */
  | { kind: 'lost'; subscriptionIds: string[] }
  /** An event left out because one of its fields is absurdly long (limits.ts); the rest of the envelope stands. */
  | { kind: 'skipped'; skipped: SkippedEvent };

/** What a skipped event was, as far as it can be told without keeping its absurd field. */
export interface SkippedEvent {
  /** The event's type (NewMail, Created, …). */
  event: EventType;
  /** The element (or attribute) that was too long: ItemId, ParentFolderId ChangeKey, SubscriptionId, TimeStamp, … */
  field: string;
  /** Its length in characters. */
  length: number;
}

/** Which folders a subscription covers. */
export type FolderSelector =
  | { kind: 'all' }
  | { kind: 'folders'; folders: FolderRef[] };

/** A folder as the user named it: a distinguished folder name (lower case) or an opaque FolderId. */
export type FolderRef = { kind: 'distinguished'; name: string } | { kind: 'id'; id: string };

/** The parts of a request every EWS call carries. */
export interface RequestContext {
  /** RequestServerVersion, e.g. Exchange2013_SP1. */
  serverVersion: string;
  /** SMTP address to impersonate (ExchangeImpersonation header), when watching another mailbox. */
  impersonate?: string;
}

export interface ServerVersionInfo {
  majorVersion?: number;
  minorVersion?: number;
  majorBuildNumber?: number;
  minorBuildNumber?: number;
  version?: string;
}
