// What an EWS response code means for a watcher: the tables of protocol-notes.md §1.4 (Subscribe) and §2.5
// (mid-stream) as data, with a one-line hint for every code that stops the watcher, and (adviceFor) what a report
// about one mailbox of many tells the admin to do (§4.5). Pure.

export type ResponseAction =
  | 'resubscribe' // the subscription is gone: subscribe again, then catch up (§2.5)
  | 'catch-up' // the subscription lives but missed events: keep it, sync (§2.5)
  | 'back-off' // throttled: wait BackOffMilliseconds or a computed backoff (§4.4)
  | 'superseded' // another connection took the subscription (§2.4)
  | 'unsubscribed' // the subscription was unsubscribed while we served it (§2.5)
  | 'transient' // retry with backoff (§1.4)
  | 'auth' // the server does not accept who we are: credentials or token
  | 'fatal'; // retrying cannot help: configuration or a bug; tell the user

interface Entry {
  action: ResponseAction;
  hint?: string;
}

const TABLE: Record<string, Entry> = {
  // §2.5: "Resubscribe, then catch up"
  ErrorSubscriptionNotFound: { action: 'resubscribe' },
  ErrorInvalidSubscription: { action: 'resubscribe' },
  ErrorExpiredSubscription: { action: 'resubscribe' },
  ErrorReadEventsFailed: { action: 'resubscribe' },
  ErrorProxyRequestNotAllowed: { action: 'resubscribe' }, // the mailbox moved site (§1.4, §2.5)
  // §2.5: "Keep the subscription; run a catch-up sync"
  ErrorMissedNotificationEvents: { action: 'catch-up' },
  // §2.4: "Treat it as 'this connection was superseded', not as a fatal error"
  ErrorNewEventStreamConnectionOpened: { action: 'superseded' },
  // §2.5; the docs spell it without the second c, and a server may copy the docs
  ErrorSubscriptionUnsubscribed: { action: 'unsubscribed' },
  ErrorSubscriptionUnsubsribed: { action: 'unsubscribed' },
  // §4.4 and §2.5: honour BackOffMilliseconds
  ErrorServerBusy: { action: 'back-off' },
  ErrorExceededConnectionCount: { action: 'back-off' },
  // §1.4: "Transient. Retry with backoff."; §4.4: ErrorInternalServerError may wrap an ErrorServerBusy
  ErrorMailboxMoveInProgress: { action: 'transient' },
  ErrorMailboxStoreUnavailable: { action: 'transient' },
  ErrorMailboxFailover: { action: 'transient' },
  ErrorInternalServerTransientError: { action: 'transient' },
  ErrorConnectionFailed: { action: 'transient' },
  ErrorInternalServerError: { action: 'transient' },
  ErrorMailboxLogonFailed: { action: 'transient' },
  // §4.5: a member's Subscribe under its group's anchor refused; anchored on itself it may pass
  ErrorProxyCallFailed: { action: 'transient' },
  // §1.4: fatal, each with what to do
  ErrorAccessDenied: { action: 'fatal', hint: 'The account has no rights to this mailbox or folder: grant it access (or full access), or watch a mailbox it owns.' },
  ErrorFolderNotFound: { action: 'fatal', hint: 'A folder does not exist or the account may not see it: check --folder (a distinguished name such as inbox, or a FolderId) and the folder permissions.' },
  ErrorInvalidFolderId: { action: 'fatal', hint: 'A FolderId given with --folder is malformed: copy it exactly, or use a distinguished name such as inbox.' },
  ErrorNonExistentMailbox: { action: 'fatal', hint: 'No mailbox has this SMTP address: check the address given to --mailbox (its primary SMTP address, not an alias).' },
  ErrorInvalidSubscriptionRequest: { action: 'fatal', hint: 'One subscription may cover folders of one mailbox only: watch other mailboxes with separate runs.' },
  ErrorExceededSubscriptionCount: { action: 'fatal', hint: 'The mailbox has too many live subscriptions (20 on Exchange Online): stop other watchers or let their subscriptions expire, then retry.' },
  ErrorImpersonateUserDenied: { action: 'fatal', hint: 'The account may not impersonate this mailbox: assign it the ApplicationImpersonation role (Exchange) or use app-only OAuth with full_access_as_app.' },
  ErrorImpersonationDenied: { action: 'fatal', hint: 'Impersonation is denied for this account: assign it the ApplicationImpersonation role, or drop --mailbox to watch its own mailbox.' },
  ErrorImpersonationFailed: { action: 'fatal', hint: 'The server could not impersonate the mailbox: check the --mailbox address and that the mailbox is enabled.' },
  ErrorInvalidExchangeImpersonationHeaderData: { action: 'fatal', hint: 'The impersonation header is empty or malformed: give --mailbox a plain SMTP address.' },
  ErrorSubscriptionDelegateAccessNotSupported: { action: 'fatal', hint: "Subscriptions to another user's mailbox need impersonation, not delegate access: use --mailbox and an account that has the ApplicationImpersonation role." },
  ErrorSubscriptionAccessDenied: { action: 'fatal', hint: 'Only the account that created a subscription may stream it: use the same credentials (and --mailbox) for the whole run.' },
  ErrorInvalidWatermark: { action: 'fatal', hint: 'Streaming subscriptions take no watermark: this is a bug in ews-watch; please report it.' },
  ErrorSchemaValidation: { action: 'fatal', hint: 'The server rejected the request as malformed: this is a bug in ews-watch (or --server-version is too old for this server); please report it.' },
  ErrorInvalidRequest: { action: 'fatal', hint: 'The server did not understand the request: check that the URL is an EWS endpoint (…/EWS/Exchange.asmx); otherwise report a bug.' },
  ErrorInvalidServerVersion: { action: 'fatal', hint: 'The server does not accept this RequestServerVersion: set --server-version (e.g. Exchange2010_SP1 for old on-premises servers; streaming needs at least that).' },
  ErrorInvalidSchemaVersionForMailboxVersion: { action: 'fatal', hint: "The RequestServerVersion does not fit the mailbox's server: set --server-version to match it (e.g. Exchange2013_SP1)." },
  ErrorIncorrectSchemaVersion: { action: 'fatal', hint: 'The RequestServerVersion is not valid for this server: set --server-version (e.g. Exchange2013_SP1).' },
  // the server does not accept who we are
  ErrorInvalidAuthorizationContext: { action: 'auth', hint: 'The server could not build a security context for the account: check the credentials and the authentication method.' },
  ErrorInvalidCrossForestCredentials: { action: 'auth', hint: 'The credentials are not valid for the forest that holds the mailbox: sign in with an account of that forest.' },
  ErrorInvalidSerializedAccessToken: { action: 'auth', hint: 'The access token was rejected: sign in again (ews-watch login) or check the token passed in.' },
  ErrorProxyTokenExpired: { action: 'auth', hint: 'The proxy security token expired: sign in again and retry.' },
  ErrorInvalidClientAccessTokenRequest: { action: 'auth', hint: 'The OAuth token request was rejected: check the app registration (EWS.AccessAsUser.All or full_access_as_app) and sign in again.' },
  ErrorTokenSerializationDenied: { action: 'auth', hint: 'The account may not act on behalf of others (token serialization right): use impersonation or its own mailbox.' },
  ErrorInvalidLogonType: { action: 'auth', hint: 'The server refused this logon type: check the authentication method for this EWS endpoint.' },
  ErrorOrganizationAccessBlocked: { action: 'auth', hint: 'The organization blocks this access: on Exchange Online, an admin must allow EWS for this app and user.' },
};

// Plain SOAP fault codes (faultcode without an EWS detail, e.g. gromox's 'SOAP:Client').
const SOAP_FAULTS: Record<string, Entry> = {
  Client: { action: 'fatal', hint: 'The server rejected the request (SOAP Client fault): check the server URL and --server-version; for a server that is not Exchange, its own documentation explains the message.' },
  VersionMismatch: { action: 'fatal', hint: 'The server does not speak SOAP 1.1: check that the URL is an EWS endpoint.' },
  MustUnderstand: { action: 'fatal', hint: 'The server does not understand a SOAP header we send (impersonation?): check --mailbox and --server-version.' },
  Server: { action: 'transient' },
};

function entryOf(code: string): Entry | undefined {
  const own = TABLE[code];
  if (own !== undefined && Object.hasOwn(TABLE, code)) return own;
  // 'SOAP:Client', 's:Client.Authentication': the local name, then its first dotted part (SOAP 1.1 §4.4.1).
  const local = code.slice(code.lastIndexOf(':') + 1).split('.')[0];
  return Object.hasOwn(SOAP_FAULTS, local) ? SOAP_FAULTS[local] : undefined;
}

/**
 * What to do about a response code (call it for error codes only; 'NoError' is not one).
 * Unknown codes are 'transient': a watcher runs for days against servers newer than this table, and §1.4/§2.5
 * list codes, not all codes. Retrying with backoff is bounded and safe, while treating a code we have never seen
 * as fatal would end a healthy watch over, say, a new throttling code. Codes that stop the watcher are listed.
 */
export function classifyResponseCode(code: string): ResponseAction {
  return entryOf(code.trim())?.action ?? 'transient';
}

/** One line on what the user can do about a fatal or auth code; undefined for the others and for unknown codes. */
export function responseCodeHint(code: string): string | undefined {
  return entryOf(code.trim())?.hint;
}

/** What adviceFor knows of the setting: Exchange Online (app-only OAuth), on premises, or unknown (both are said). */
export interface AdviceContext {
  online?: boolean;
  /** The service account, for the PowerShell line (on premises). */
  account?: string;
}

/**
 * One line for a report about `mailbox` that could not be watched (protocol-notes.md §4.5, "Rights" and "Budgets"):
 * what the Exchange admin (or the user) can do about `code`. Every code gets a line; unknown ones name the code.
 */
export function adviceFor(code: string, mailbox: string, o: AdviceContext = {}): string {
  const c = code.trim();
  const own = ADVICE[c];
  if (own !== undefined && Object.hasOwn(ADVICE, c)) return own(mailbox, o);
  return responseCodeHint(c) ?? `the server answered ${c} for ${mailbox}; ews-watch retries it with back-off`;
}

/** [ews] the ApplicationImpersonation role on premises (Learn "Configure impersonation"); full_access_as_app online (§5). */
function impersonationAdvice(mailbox: string, o: AdviceContext): string {
  const onPremises =
    `ask the Exchange admin to grant the ApplicationImpersonation role over ${mailbox}: ` +
    `New-ManagementRoleAssignment -Name ews-watch -Role ApplicationImpersonation -User ${o.account ?? '<service account>'} ` +
    '-CustomRecipientWriteScope <a management scope that includes the mailbox>';
  const online =
    `ask the tenant admin to give the app the full_access_as_app application permission (admin consent) and, if an ` +
    `application access policy restricts it, to add ${mailbox} to the policy's group (ApplicationImpersonation no longer exists in Exchange Online)`;
  if (o.online === true) return `the account may not act for ${mailbox}: ${online}`;
  if (o.online === false) return `the account may not impersonate ${mailbox}: ${onPremises}`;
  return `the account may not impersonate ${mailbox}: on premises, ${onPremises}; on Exchange Online, ${online}`;
}

const ADVICE: Record<string, (mailbox: string, o: AdviceContext) => string> = {
  ErrorImpersonateUserDenied: impersonationAdvice,
  ErrorImpersonationDenied: impersonationAdvice,
  ErrorNonExistentMailbox: (m) => `no mailbox has the address ${m}: check the list (a primary SMTP address, not an alias) or remove it`,
  ErrorExceededSubscriptionCount: (m) =>
    `${m} has too many live subscriptions (20 on Exchange Online): stop other programs that watch it, or wait until their subscriptions expire`,
  ErrorExceededConnectionCount: () =>
    'the account has too many connections open at Exchange (ews-watch keeps to 10 at once): stop other programs using the account, ' +
    'or split the list across accounts (--shard with one account per shard); an admin can raise the throttling policy (EwsMaxConcurrency)',
  ErrorServerBusy: () =>
    'Exchange is throttling the account; ews-watch waits the time the server asks for and retries. If it lasts, an admin can ' +
    'assign the service account a throttling policy with a higher EwsMaxConcurrency (New-ThrottlingPolicy, Set-ThrottlingPolicyAssociation)',
  ErrorProxyCallFailed: (m) =>
    `the server could not reach the mailbox server of ${m} under its group's anchor; ews-watch subscribes it anchored on itself instead`,
};
