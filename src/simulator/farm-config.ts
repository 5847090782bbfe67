// A simulated organisation of many mailboxes on several backend servers: turns the short options a test writes
// ("450 mailboxes on 2 backends, these 3 lack impersonation rights") into a checked, frozen description. Pure.

import { UsageError } from '../errors.js';

/** One mailbox, optionally pinned to a backend (by FQDN); otherwise mailboxes are spread over backends in turn. */
export interface MailboxSpec {
  address: string;
  backend?: string;
}

/** Exchange's budgets, as the simulator enforces them (protocol-notes.md §4.3, §4.5). */
export interface FarmLimits {
  /** Hanging GetStreamingEvents per impersonated (or signed-in) account: 10 (Exchange Online, 2016, 2019), 3 (2013). */
  hangingConnections: number;
  /** Live subscriptions per target mailbox: 20 on Exchange Online, 5000 on Exchange 2013. */
  subscriptionsPerMailbox: number;
  /** Ordinary (non-streaming) requests in flight per signed-in account (EWSMaxConcurrency): 27. */
  concurrency: number;
  /** BackOffMilliseconds in the ErrorServerBusy a request over `concurrency` gets. */
  backOffMs: number;
}

export const ONLINE_LIMITS: Readonly<FarmLimits> = Object.freeze({ hangingConnections: 10, subscriptionsPerMailbox: 20, concurrency: 27, backOffMs: 1000 });
export const EXCHANGE_2013_LIMITS: Readonly<FarmLimits> = Object.freeze({ hangingConnections: 3, subscriptionsPerMailbox: 5000, concurrency: 27, backOffMs: 1000 });

export interface FarmOptions {
  /** The mailboxes besides the signed-in account's own: a count (user001@contoso.com, …) or addresses. */
  mailboxes?: number | readonly (string | MailboxSpec)[];
  /** Backend servers: a count (EXSIM01.contoso.local, EXSIM02…) or FQDNs. Default: one. */
  backends?: number | readonly string[];
  /** Mailboxes the service account may not impersonate (no ApplicationImpersonation over them). */
  noImpersonation?: readonly string[];
  /** 'online' (default), 'exchange2013', or budgets of one's own (the rest from 'online'). */
  throttling?: 'online' | 'exchange2013' | Partial<FarmLimits>;
  /**
   * When Subscribe's answer sets X-BackEndOverrideCookie: 'when-asked' (default: the request sent X-AnchorMailbox and
   * X-PreferServerAffinity: true, as Microsoft documents), 'always' (an Exchange 2016 was seen setting it unasked),
   * 'never' (Exchange Online was seen not setting it).
   */
  affinityCookie?: 'when-asked' | 'always' | 'never';
  /**
   * How a request over the concurrency budget is refused: 'server-busy' (default: ErrorServerBusy with
   * BackOffMilliseconds) or 'connection-count' (the ErrorExceededConnectionCount fault an Exchange Online answered
   * for policy MaxConcurrency, OfficeDev/ews-managed-api#293).
   */
  concurrencyError?: 'server-busy' | 'connection-count';
  /**
   * A member's Subscribe under its group's anchor (X-AnchorMailbox naming another mailbox than the impersonated one) is
   * refused with HTTP 500, ErrorProxyCallFailed "… could not contact the appropriate CAS server …", as reported of
   * Exchange Online with OAuth (Stack Overflow q. 62434351). Anchoring the member on itself (with the cookie) works.
   */
  refuseMemberUnderAnchor?: boolean;
}

export interface FarmMailbox {
  /** As configured (case kept); looked up case-insensitively. */
  address: string;
  backend: string;
}

export interface FarmConfig {
  readonly backends: readonly string[];
  /** By lower-cased address; the signed-in account's mailbox first. */
  readonly mailboxes: ReadonlyMap<string, FarmMailbox>;
  /** Lower-cased addresses the service account may not impersonate (changeable at run time). */
  readonly denied: Set<string>;
  readonly limits: Readonly<FarmLimits>;
  readonly affinityCookie: 'when-asked' | 'always' | 'never';
  readonly concurrencyError: 'server-busy' | 'connection-count';
  readonly refuseMemberUnderAnchor: boolean;
}

const FQDN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const ADDRESS = /^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/;
const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** Backend names as on-premises Exchange servers are often named; a count of N gives N of them. */
export function backendNames(backends: FarmOptions['backends']): string[] {
  if (backends === undefined) return ['EXSIM01.contoso.local'];
  const names = typeof backends === 'number' ? Array.from({ length: whole(backends, 'backends') }, (_, i) => `EXSIM${pad(i + 1, 2)}.contoso.local`) : [...backends];
  if (names.length === 0) throw new UsageError('simulator: at least one backend is needed');
  for (const n of names) if (!FQDN.test(n)) throw new UsageError(`simulator: backend ${JSON.stringify(n)} is not a host name (EXSIM01.contoso.local)`);
  if (new Set(names.map((n) => n.toLowerCase())).size !== names.length) throw new UsageError('simulator: two backends share a name');
  return names;
}

function whole(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 100_000) throw new UsageError(`simulator: ${what} must be a whole number from 0 to 100000, got ${n}`);
  return n;
}

function mailboxSpecs(mailboxes: FarmOptions['mailboxes']): MailboxSpec[] {
  if (mailboxes === undefined) return [];
  if (typeof mailboxes === 'number') {
    const count = whole(mailboxes, 'mailboxes');
    const width = Math.max(3, String(count).length);
    return Array.from({ length: count }, (_, i) => ({ address: `user${pad(i + 1, width)}@contoso.com` }));
  }
  return mailboxes.map((m) => (typeof m === 'string' ? { address: m } : m));
}

function limitsOf(throttling: FarmOptions['throttling']): FarmLimits {
  if (throttling === undefined || throttling === 'online') return { ...ONLINE_LIMITS };
  if (throttling === 'exchange2013') return { ...EXCHANGE_2013_LIMITS };
  const limits = { ...ONLINE_LIMITS, ...throttling };
  for (const [k, v] of Object.entries(limits)) if (!Number.isInteger(v) || v < 0) throw new UsageError(`simulator: throttling ${k} must be a whole number, got ${v}`);
  return limits;
}

/** Checks and freezes the options; `signedIn` is the account's own mailbox, always on the first backend unless listed. */
export function buildFarmConfig(options: FarmOptions, signedIn: string): FarmConfig {
  const backends = backendNames(options.backends);
  const byName = new Map(backends.map((b) => [b.toLowerCase(), b]));
  const specs = mailboxSpecs(options.mailboxes);
  const mailboxes = new Map<string, FarmMailbox>();
  const own = specs.find((s) => s.address.toLowerCase() === signedIn.toLowerCase());
  const all = own ? [own, ...specs.filter((s) => s !== own)] : [{ address: signedIn, backend: backends[0] }, ...specs];
  all.forEach((spec, i) => {
    const key = spec.address.toLowerCase();
    if (!ADDRESS.test(spec.address)) throw new UsageError(`simulator: mailbox ${JSON.stringify(spec.address)} is not an SMTP address`);
    if (mailboxes.has(key)) throw new UsageError(`simulator: mailbox ${spec.address} is listed twice`);
    const backend = spec.backend === undefined ? backends[i % backends.length]! : byName.get(spec.backend.toLowerCase());
    if (backend === undefined) throw new UsageError(`simulator: mailbox ${spec.address} names backend ${spec.backend}, which is not one of ${backends.join(', ')}`);
    mailboxes.set(key, { address: spec.address, backend });
  });
  const denied = new Set((options.noImpersonation ?? []).map((a) => a.toLowerCase()));
  for (const d of denied) if (!mailboxes.has(d)) throw new UsageError(`simulator: noImpersonation names ${d}, which is not a mailbox here`);
  return {
    backends,
    mailboxes,
    denied,
    limits: Object.freeze(limitsOf(options.throttling)),
    affinityCookie: options.affinityCookie ?? 'when-asked',
    concurrencyError: options.concurrencyError ?? 'server-busy',
    refuseMemberUnderAnchor: options.refuseMemberUnderAnchor ?? false,
  };
}
