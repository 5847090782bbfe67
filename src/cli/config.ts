// Flags → the watch settings; flags + environment + .env (through the one precedence rule, precedence.ts) → the
// connection settings. Pure: no I/O. Every problem is a UsageError with one clear line, raised before any network
// I/O. The configuration of each command is put together from these in command-config.ts.

import { UsageError } from '../errors.js';
import { DEFAULT_SERVER_VERSION, isDistinguishedFolder, parseEventTypeName } from '../ews/requests.js';
import { EVENT_TYPES, type EventType, type FolderRef, type FolderSelector } from '../ews/types.js';
import type { ColourMode } from '../term/colour.js';
import { parsePattern, type Matcher } from '../enrich/filter.js';
import { HOOK_DEFAULTS, type HookSpec } from '../hooks/types.js';
import { MAX_TIMEOUT_MS, parseDuration } from './duration.js';
import type { RawHook } from './hook-args.js';
import type { Lookup, Source } from './precedence.js';

export type { Env, Source } from './precedence.js';
export type OutputFormat = 'pretty' | 'ndjson';
export type AuthKind = 'auto' | 'basic' | 'ntlm' | 'oauth' | 'token';

/** What commander hands us; every value still a string as typed. */
export interface RawOptions {
  url?: string;
  user?: string;
  auth?: string;
  /** The one mailbox of today's watch (from --mailbox when it names one; mailbox-selection.ts decides). */
  mailbox?: string;
  /** --mailbox as given (repeatable, comma lists), --mailboxes-file, --shard: mailbox-selection.ts. */
  mailboxes?: string[];
  mailboxesFile?: string;
  shard?: string;
  serverVersion?: string;
  folder?: string[];
  allFolders?: boolean;
  events?: string;
  format?: string;
  json?: boolean;
  maxEvents?: string;
  connectionTimeout?: string;
  heartbeatTimeout?: string;
  color?: string;
  verbose?: boolean;
  quiet?: boolean;
  passwordStdin?: boolean;
  tenant?: string;
  clientId?: string;
  clientCert?: string;
  authority?: string;
  caFile?: string;
  insecure?: boolean;
  autodiscoverAllow?: string;
  stateDir?: string;
  backfill?: boolean;
  since?: string;
  details?: boolean;
  from?: string[];
  subject?: string[];
  timeout?: string;
  debounce?: string;
  hookTimeout?: string;
  hookConcurrency?: string;
  /** --on/--exec, taken out of argv by splitHookArgs (hook-args.ts). */
  hooks?: RawHook[];
}

export interface WatchSettings {
  folders: FolderSelector;
  /** How to name what is watched in status lines: "inbox", "inbox, sentitems", "all folders". */
  folderLabel: string;
  events: readonly EventType[];
  format: OutputFormat;
  maxEvents?: number;
  connectionTimeoutMinutes: number;
  heartbeatTimeoutMs: number;
  colour: ColourMode;
  verbosity: -1 | 0 | 1;
  /** --state-dir; the caller falls back to EWS_STATE_DIR, then the default. */
  stateDir?: string;
  backfill: boolean;
  /** --since now: only what happens from the start of this run; sync states and the ledger in memory only. */
  since?: 'now';
  /** --details, or implied by --from/--subject. */
  details: boolean;
  /** --from / --subject: any pattern of a flag may match; both flags must. */
  from: readonly Matcher[];
  subject: readonly Matcher[];
  /** --timeout: stop then, and exit 124 unless enough events matched. */
  timeoutMs?: number;
  hooks: readonly HookSpec[];
  hookTimeoutMs: number;
  hookConcurrency: number;
  debounceMs: number;
}

/** --auth oauth: who signs in where. The secret stays in the environment; only its presence is noted. */
export interface OAuthSettings {
  tenant: string;
  clientId: string;
  /** An app (client credentials: EWS_CLIENT_SECRET or --client-cert) rather than a person (device code). */
  app: boolean;
  /** Path of the PEM file with the app's private key and certificate. */
  clientCert?: string;
  /** Another identity platform than login.microsoftonline.com (sovereign clouds, tests). */
  authority?: string;
}

export const EXCHANGE_ONLINE_EWS_URL = 'https://outlook.office365.com/EWS/Exchange.asmx';

export interface ConnectionSettings {
  url: URL;
  /** No URL was given: autodiscover finds it for this address (src/cli/locate.ts), trusting these domains besides its own. */
  autodiscover?: { readonly address: string; readonly allowedDomains: readonly string[] };
  auth: AuthKind;
  user?: string;
  /** --mailbox, or the user when it is an SMTP address; undefined: found from the server after sign-in (DOMAIN\user). */
  mailbox?: string;
  serverVersion: string;
  passwordStdin: boolean;
  sources: Readonly<Record<string, Source>>;
  /** Present with --auth oauth. */
  oauth?: OAuthSettings;
  /** SMTP address for the ExchangeImpersonation header (the app flow of OAuth, protocol-notes.md §4.2). */
  impersonate?: string;
  /** --ca-file / EWS_CA_FILE: a PEM file of extra trusted CAs (read by the caller, which reports a bad file). */
  caFile?: string;
  /** --insecure: no certificate checks (warned about on every start). */
  insecure: boolean;
}

/** As configured: the URL is missing when autodiscover is to find it. */
export type ConfiguredConnection = Omit<ConnectionSettings, 'url'> & { url?: URL };

/** A URL was given and nothing is left for autodiscover (locate.ts) to find or check: the connection as it stands. */
export function isLocated(conn: ConfiguredConnection): conn is ConnectionSettings {
  return conn.url !== undefined && conn.autodiscover === undefined;
}

/** A connection whose mailbox is known (given, or found after sign-in). */
export type MailboxConnection = ConnectionSettings & { mailbox: string };

export function resolveWatchSettings(raw: RawOptions, stdoutIsTTY: boolean): WatchSettings {
  if (raw.verbose && raw.quiet) throw new UsageError('--verbose and --quiet cannot be used together');
  if (raw.json && raw.format && raw.format !== 'ndjson') throw new UsageError(`--json conflicts with --format ${raw.format}`);
  const format = raw.json ? 'ndjson' : raw.format === undefined ? (stdoutIsTTY ? 'pretty' : 'ndjson') : parseFormat(raw.format);
  const folders = parseFolders(raw.folder, raw.allFolders === true);
  const events = Object.freeze(parseEvents(raw.events));
  return Object.freeze({
    folders,
    folderLabel: folders.kind === 'all' ? 'all folders' : folders.folders.map((f) => (f.kind === 'id' ? 'folder id' : f.name)).join(', '),
    events,
    format,
    maxEvents: raw.maxEvents === undefined ? undefined : parseInteger('--max-events', raw.maxEvents, 1, Number.MAX_SAFE_INTEGER),
    connectionTimeoutMinutes: raw.connectionTimeout === undefined ? 30 : parseInteger('--connection-timeout', raw.connectionTimeout, 1, 30),
    heartbeatTimeoutMs: Math.round(1000 * (raw.heartbeatTimeout === undefined ? 90 : parseNumber('--heartbeat-timeout', raw.heartbeatTimeout, 1, 3600))),
    colour: parseColour(raw.color ?? 'auto'),
    verbosity: raw.verbose ? 1 : raw.quiet ? -1 : 0,
    ...(raw.stateDir !== undefined ? { stateDir: nonBlank('--state-dir', raw.stateDir) } : {}),
    backfill: raw.backfill === true,
    ...(raw.since !== undefined ? { since: parseSince(raw) } : {}),
    ...resolveEnrichment(raw),
    ...resolveHooks(raw, events),
  });
}

interface Enrichment {
  details: boolean;
  from: readonly Matcher[];
  subject: readonly Matcher[];
  timeoutMs?: number;
}

function resolveEnrichment(raw: RawOptions): Enrichment {
  const from = (raw.from ?? []).map((p) => parsePattern('--from', p));
  const subject = (raw.subject ?? []).map((p) => parsePattern('--subject', p));
  return {
    // A filter on sender or subject needs them: --from and --subject imply --details.
    details: raw.details === true || from.length > 0 || subject.length > 0,
    from: Object.freeze(from),
    subject: Object.freeze(subject),
    ...(raw.timeout !== undefined ? { timeoutMs: parseDuration('--timeout', raw.timeout, { min: 1, max: MAX_TIMEOUT_MS }) } : {}),
  };
}

interface HookSettings {
  hooks: readonly HookSpec[];
  hookTimeoutMs: number;
  hookConcurrency: number;
  debounceMs: number;
}

function resolveHooks(raw: RawOptions, events: readonly EventType[]): HookSettings {
  const hooks = (raw.hooks ?? []).map((h): HookSpec => (h.events === undefined ? { argv: h.argv } : { argv: h.argv, events: parseOnEvents(h.events, events) }));
  if (hooks.length === 0) {
    const stray = raw.debounce !== undefined ? '--debounce' : raw.hookTimeout !== undefined ? '--hook-timeout' : raw.hookConcurrency !== undefined ? '--hook-concurrency' : undefined;
    if (stray) throw new UsageError(`${stray} applies to hooks: add --exec <program> [args…]`);
  }
  return {
    hooks: Object.freeze(hooks),
    hookTimeoutMs: raw.hookTimeout === undefined ? HOOK_DEFAULTS.timeoutMs : parseDuration('--hook-timeout', raw.hookTimeout, { min: 100, max: 3_600_000 }),
    hookConcurrency: raw.hookConcurrency === undefined ? HOOK_DEFAULTS.concurrency : parseInteger('--hook-concurrency', raw.hookConcurrency, 1, 64),
    debounceMs: raw.debounce === undefined ? HOOK_DEFAULTS.debounceMs : parseDuration('--debounce', raw.debounce, { min: 0, max: 600_000, unit: 'ms' }),
  };
}

/** --on: event names as --events takes them, each one among the events watched. */
function parseOnEvents(text: string, watched: readonly EventType[]): ReadonlySet<string> {
  const names = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new UsageError('--on needs at least one of NewMail, Created, Deleted, Modified, Moved, Copied, FreeBusyChanged');
  const out = new Set<string>();
  for (const n of names) {
    const t = parseEventTypeName(n);
    if (!t) throw new UsageError(`--on: unknown event ${JSON.stringify(n)}; use NewMail, Created, Deleted, Modified, Moved, Copied, FreeBusyChanged`);
    if (!watched.includes(t)) throw new UsageError(`--on ${t}: that event is not watched (--events ${watched.join(',')})`);
    out.add(t);
  }
  return out;
}

/** `vars`: the flag, the environment and .env, in that order (precedence.ts); each value's source is noted for `check`. */
/** `many`: many mailboxes (mailbox-selection.ts), each impersonated: the connection names none of them. */
export function resolveConnection(raw: RawOptions, vars: Lookup, o: { many?: boolean } = {}): ConfiguredConnection {
  const sources: Record<string, Source> = {};
  const pick: PickSetting = (key, flag, envName) => {
    const { value, source } = vars.pick(flag, envName);
    sources[key] = source;
    return value;
  };
  // A bad value is blamed on where it came from: the flag, or the variable (and the file) that held it.
  const named: Named = (key, flag, envName) => vars.describe(sources[key] ?? 'default', flag, envName);
  const authText = (pick('auth', raw.auth, 'EWS_AUTH') ?? 'auto').toLowerCase();
  // Exchange Online is the only place OAuth for EWS exists, so it is the default URL there (protocol-notes.md §7: no
  // autodiscover for Exchange Online); without a URL otherwise, autodiscover finds it after sign-in (src/autodiscover/).
  const urlText = pick('url', raw.url, 'EWS_URL') ?? (authText === 'oauth' ? EXCHANGE_ONLINE_EWS_URL : undefined);
  if (!urlText && authText === 'token') throw new UsageError('no EWS URL: --auth token does not use autodiscover; pass --url https://mail.example.com/EWS/Exchange.asmx (Exchange Online: https://outlook.office365.com/EWS/Exchange.asmx) or set EWS_URL');
  const url = urlText === undefined ? undefined : parseUrl(urlText, named('url', '--url', 'EWS_URL'));
  const auth = parseAuth(authText, url, named('auth', '--auth', 'EWS_AUTH'));
  const oauth = auth === 'oauth' ? resolveOAuth(raw, vars, pick, named) : undefined;
  const user = pick('user', raw.user, 'EWS_USER');
  if ((auth === 'basic' || auth === 'ntlm' || auth === 'auto') && !user) {
    throw new UsageError('no user name: pass --user alice@contoso.com (or CONTOSO\\alice) or set EWS_USER');
  }
  const caFile = pick('caFile', raw.caFile, 'EWS_CA_FILE');
  if (caFile !== undefined && url !== undefined && url.protocol !== 'https:') throw new UsageError(`${named('caFile', '--ca-file', 'EWS_CA_FILE')} applies to https URLs only, and ${url.origin} is plain http`);
  const explicitMailbox = o.many ? undefined : pick('mailbox', raw.mailbox, 'EWS_MAILBOX');
  if (o.many) return manyConnection(raw, { url, auth, user, oauth, caFile, sources }, vars, pick, named);
  if (oauth?.app && !explicitMailbox) {
    throw new UsageError('an app signing in with OAuth (EWS_CLIENT_SECRET or --client-cert) watches another mailbox: pass --mailbox alice@contoso.com or set EWS_MAILBOX');
  }
  // A user name that is not an address (CONTOSO\alice) leaves the mailbox to be found after sign-in.
  const mailbox = explicitMailbox ?? (user && isSmtp(user) ? user : undefined);
  if (!mailbox && !user) throw new UsageError('no mailbox: pass --mailbox alice@contoso.com or set EWS_MAILBOX');
  if (mailbox !== undefined && !isSmtp(mailbox)) throw new UsageError(`${named('mailbox', '--mailbox', 'EWS_MAILBOX')} must be an SMTP address, got ${JSON.stringify(mailbox)}`);
  if (url === undefined && !mailbox) {
    throw new UsageError(`no EWS URL, and autodiscover needs an SMTP address, not ${JSON.stringify(user)}: pass --url https://mail.example.com/EWS/Exchange.asmx (or set EWS_URL), or --mailbox alice@contoso.com`);
  }
  const serverVersion = pick('serverVersion', raw.serverVersion, 'EWS_SERVER_VERSION') ?? DEFAULT_SERVER_VERSION;
  if (!/^Exchange20(10_SP1|10_SP2|13|13_SP1|16)$/.test(serverVersion)) {
    throw new UsageError(`${named('serverVersion', '--server-version', 'EWS_SERVER_VERSION')} must be one of Exchange2010_SP1, Exchange2010_SP2, Exchange2013, Exchange2013_SP1, Exchange2016 (streaming needs Exchange2010_SP1 or later), got ${serverVersion}`);
  }
  return Object.freeze({
    ...(url ? { url } : { autodiscover: Object.freeze({ address: mailbox as string, allowedDomains: parseDomains(pick('autodiscoverAllow', raw.autodiscoverAllow, 'EWS_AUTODISCOVER_ALLOW'), named('autodiscoverAllow', '--autodiscover-allow', 'EWS_AUTODISCOVER_ALLOW')) }) }),
    auth,
    user,
    mailbox,
    serverVersion,
    passwordStdin: raw.passwordStdin === true,
    sources: Object.freeze(sources),
    ...(oauth ? { oauth: Object.freeze(oauth) } : {}),
    ...(oauth?.app ? { impersonate: mailbox } : {}),
    ...(caFile !== undefined ? { caFile } : {}),
    insecure: raw.insecure === true,
  });
}

interface Resolved {
  url: URL | undefined;
  auth: AuthKind;
  user: string | undefined;
  oauth: OAuthSettings | undefined;
  caFile: string | undefined;
  sources: Record<string, Source>;
}

/**
 * Many mailboxes: the account signs in once and impersonates each (ExchangeImpersonation, protocol-notes.md §4.2);
 * without a URL, autodiscover finds each mailbox's (fleet-watch.ts), so no single address is needed here.
 */
function manyConnection(raw: RawOptions, r: Resolved, vars: Lookup, pick: PickSetting, named: Named): ConfiguredConnection {
  const serverVersion = pick('serverVersion', raw.serverVersion, 'EWS_SERVER_VERSION') ?? DEFAULT_SERVER_VERSION;
  if (!/^Exchange20(10_SP1|10_SP2|13|13_SP1|16)$/.test(serverVersion)) {
    throw new UsageError(`${named('serverVersion', '--server-version', 'EWS_SERVER_VERSION')} must be one of Exchange2010_SP1, Exchange2010_SP2, Exchange2013, Exchange2013_SP1, Exchange2016 (streaming needs Exchange2010_SP1 or later), got ${serverVersion}`);
  }
  if (r.oauth !== undefined && !r.oauth.app) throw new UsageError('many mailboxes need an app (EWS_CLIENT_SECRET or --client-cert) with full_access_as_app, or a service account with ApplicationImpersonation: a person signing in with OAuth cannot impersonate');
  const allowed = parseDomains(pick('autodiscoverAllow', raw.autodiscoverAllow, 'EWS_AUTODISCOVER_ALLOW'), named('autodiscoverAllow', '--autodiscover-allow', 'EWS_AUTODISCOVER_ALLOW'));
  return Object.freeze({
    ...(r.url ? { url: r.url } : { autodiscover: Object.freeze({ address: r.user !== undefined && isSmtp(r.user) ? r.user : '', allowedDomains: allowed }) }),
    auth: r.auth,
    user: r.user,
    serverVersion,
    passwordStdin: raw.passwordStdin === true,
    sources: Object.freeze(r.sources),
    ...(r.oauth ? { oauth: Object.freeze(r.oauth) } : {}),
    ...(r.caFile !== undefined ? { caFile: r.caFile } : {}),
    insecure: raw.insecure === true,
  });
}

/** The value of one setting (flag, environment, .env), its source noted under `key`. */
type PickSetting = (key: string, flag: string | undefined, envName: string) => string | undefined;
/** "--url", "EWS_URL (from the environment)" or "EWS_URL in ./.env": whichever gave the value. */
type Named = (key: string, flag: string, envName: string) => string;

/** --tenant, --client-id and the app's credential kind; a person signs in when there is neither secret nor certificate. */
function resolveOAuth(raw: RawOptions, vars: Lookup, pick: PickSetting, named: Named): OAuthSettings {
  const tenant = pick('tenant', raw.tenant, 'EWS_TENANT_ID');
  const clientId = pick('clientId', raw.clientId, 'EWS_CLIENT_ID');
  if (!tenant) throw new UsageError('--auth oauth needs the Entra tenant: pass --tenant contoso.onmicrosoft.com (or its id) or set EWS_TENANT_ID');
  if (!clientId) throw new UsageError('--auth oauth needs the app registration: pass --client-id <application id> or set EWS_CLIENT_ID');
  if (!/^[A-Za-z0-9.-]+$/.test(tenant)) throw new UsageError(`${named('tenant', '--tenant', 'EWS_TENANT_ID')} must be a tenant id or domain, got ${JSON.stringify(tenant)}`);
  if (!/^[A-Za-z0-9-]+$/.test(clientId)) throw new UsageError(`${named('clientId', '--client-id', 'EWS_CLIENT_ID')} must be an application id (a GUID), got ${JSON.stringify(clientId)}`);
  const clientCert = pick('clientCert', raw.clientCert, 'EWS_CLIENT_CERT');
  const hasSecret = vars.variable('EWS_CLIENT_SECRET').value !== undefined;
  if (clientCert && hasSecret) throw new UsageError('EWS_CLIENT_SECRET and --client-cert cannot be used together: choose one app credential');
  const authority = pick('authority', raw.authority, 'EWS_AUTHORITY');
  if (authority !== undefined && !/^https:\/\/[^/\s]+/.test(authority)) throw new UsageError(`${named('authority', '--authority', 'EWS_AUTHORITY')} must be an https URL, got ${JSON.stringify(authority)}`);
  return { tenant, clientId, app: hasSecret || clientCert !== undefined, ...(clientCert ? { clientCert } : {}), ...(authority ? { authority } : {}) };
}

function parseUrl(text: string, what = '--url'): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${what} is not a URL: ${JSON.stringify(text)} (expected e.g. https://mail.contoso.com/EWS/Exchange.asmx)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`${what} must be http or https, got ${url.protocol}`);
  if (url.username || url.password) throw new UsageError(`${what} must not carry credentials; use --user and EWS_PASSWORD`);
  return url;
}

/** --autodiscover-allow: a comma list of domain names redirects may lead to. */
function parseDomains(text: string | undefined, what: string): readonly string[] {
  const names = (text ?? '').split(',').map((d) => d.trim().toLowerCase().replace(/^\.+|\.+$/g, '')).filter((d) => d !== '');
  for (const d of names) if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(d)) throw new UsageError(`${what} takes domain names such as hoster.example, got ${JSON.stringify(d)}`);
  return Object.freeze(names);
}

/** Without a URL (autodiscover), every place asked is https: the plain-http checks apply to a given URL only. */
function parseAuth(text: string, url: URL | undefined, what = '--auth'): AuthKind {
  if (text === 'oauth') {
    if (url?.protocol === 'http:' && !isLoopback(url.hostname)) throw new UsageError(`refusing to send an OAuth token over plain http to ${url.hostname}; use an https URL`);
    return 'oauth';
  }
  if (text !== 'auto' && text !== 'basic' && text !== 'ntlm' && text !== 'token') throw new UsageError(`${what} must be one of auto, basic, ntlm, oauth, token; got ${JSON.stringify(text)}`);
  // auto refuses Basic over plain http later, when the server has said it offers nothing better.
  if (text === 'basic' && url?.protocol === 'http:' && !isLoopback(url.hostname)) {
    throw new UsageError(`refusing to send a password with Basic authentication over plain http to ${url.hostname}; use an https URL`);
  }
  return text;
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

function isSmtp(s: string): boolean {
  return /^[^\s@\\]+@[^\s@\\]+\.[^\s@\\]+$/.test(s);
}

function parseFolders(list: string[] | undefined, all: boolean): FolderSelector {
  const names = (list ?? []).flatMap((f) => f.split(',')).map((f) => f.trim()).filter((f) => f !== '');
  if (all) {
    if (names.length) throw new UsageError('--all-folders and --folder cannot be used together');
    return { kind: 'all' };
  }
  if (list && names.length === 0) throw new UsageError('--folder needs a folder name or id');
  const refs: FolderRef[] = (names.length ? names : ['inbox']).map((n) =>
    isDistinguishedFolder(n) ? { kind: 'distinguished', name: n.toLowerCase() } : { kind: 'id', id: n },
  );
  const unique = refs.filter((r, i) => refs.findIndex((o) => JSON.stringify(o) === JSON.stringify(r)) === i);
  for (const r of unique) {
    if (r.kind === 'id' && !/^[A-Za-z0-9+/=_-]{8,}$/.test(r.id)) {
      throw new UsageError(`--folder ${JSON.stringify(r.id)} is neither a known folder name (inbox, sentitems, calendar, …) nor a FolderId`);
    }
  }
  return { kind: 'folders', folders: unique };
}

/** --since: `now` only (any case); it reads and writes no saved state, so --backfill and --state-dir make no sense with it. */
function parseSince(raw: RawOptions): 'now' {
  const text = raw.since ?? '';
  if (text.trim().toLowerCase() !== 'now') throw new UsageError(`--since must be now (only what happens from the start of this run), got ${JSON.stringify(text)}`);
  if (raw.backfill) throw new UsageError('--since now and --backfill contradict each other: --backfill reports what is already there, --since now only what comes after the start');
  if (raw.stateDir !== undefined) throw new UsageError('--since now keeps its sync state in memory and uses no state directory: leave out --state-dir');
  return 'now';
}

function nonBlank(flag: string, text: string): string {
  if (text.trim() === '') throw new UsageError(`${flag} needs a value`);
  return text;
}

function parseEvents(text: string | undefined): EventType[] {
  if (text === undefined) return [...EVENT_TYPES];
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) throw new UsageError('--events needs at least one of NewMail, Created, Deleted, Modified, Moved, Copied, FreeBusyChanged');
  const out: EventType[] = [];
  for (const p of parts) {
    const t = parseEventTypeName(p);
    if (!t) throw new UsageError(`--events: unknown event ${JSON.stringify(p)}; use NewMail, Created, Deleted, Modified, Moved, Copied, FreeBusyChanged`);
    if (!out.includes(t)) out.push(t);
  }
  return out;
}

function parseFormat(text: string): OutputFormat {
  const f = text.toLowerCase();
  if (f === 'pretty' || f === 'ndjson') return f;
  if (f === 'json') return 'ndjson';
  throw new UsageError(`--format must be pretty or ndjson, got ${JSON.stringify(text)}`);
}

function parseColour(text: string): ColourMode {
  const c = text.toLowerCase();
  if (c === 'auto' || c === 'always' || c === 'never') return c;
  throw new UsageError(`--color must be auto, always or never, got ${JSON.stringify(text)}`);
}

function parseInteger(flag: string, text: string, min: number, max: number): number {
  if (!/^\s*\d+\s*$/.test(text)) throw new UsageError(`${flag} must be a whole number${max === Number.MAX_SAFE_INTEGER ? `, ${min} or more` : ` from ${min} to ${max}`}, got ${shownValue(text)}`);
  return checkRange(flag, Number(text), min, max, text);
}

/** A value as typed, in quotes only when it needs them to be seen (empty, or with spaces). */
function shownValue(text: string): string {
  return /^\S+$/.test(text) ? text : JSON.stringify(text);
}

function parseNumber(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} must be a number of seconds from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return checkRange(flag, n, min, max, text);
}

function checkRange(flag: string, n: number, min: number, max: number, text: string): number {
  if (n < min || n > max) throw new UsageError(`${flag} must be ${max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`}, got ${text.trim()}`);
  return n;
}
