// Autodiscover for one address: the places Microsoft lists, in order (https://<domain>, then
// https://autodiscover.<domain>, SOAP then POX at each; the plain-http redirect; the SRV record), with at most
// MAX_REDIRECTS redirects, https only, and never across to another domain unless the user allowed it.
// HTTP and DNS are injected; no timers, no process (protocol-notes.md §7; Learn "Autodiscover for Exchange").

import { AuthError, UsageError } from '../errors.js';
import { cleanText } from '../base/sanitize.js';
import { decodeGetUserSettings, decodePoxAnswer, ewsUrlOf, type AutodiscoverAnswer } from './codec.js';
import { buildGetUserSettings, buildPoxRequest } from './codec.js';

/** Learn "RedirectUrl (POX)": "The client application should stop redirecting after 10 redirects." */
export const MAX_REDIRECTS = 10;

export type Protocol = 'SOAP' | 'POX';

export interface HttpAnswer {
  status: number;
  /** The Location header of a 3xx. */
  location?: string;
  body: string;
}

export interface SrvRecord {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

export interface AutodiscoverDeps {
  /** An authenticated POST to an https URL: the only request that carries credentials. Throws when unreachable. */
  post(url: URL, body: string, protocol: Protocol): Promise<HttpAnswer>;
  /** An unauthenticated GET of a plain-http URL, redirects not followed. Throws when unreachable. */
  get(url: URL): Promise<{ status: number; location?: string }>;
  /** DNS SRV records of a name ([] when there are none). */
  resolveSrv(name: string): Promise<SrvRecord[]>;
  /** One line per place looked at and what it answered (for -v). */
  log(line: string): void;
}

export interface DiscoverOptions {
  /** The mailbox's SMTP address. */
  address: string;
  /** Domains besides the address's own that redirects may lead to (--autodiscover-allow). */
  allowedDomains?: readonly string[];
}

export interface Discovered {
  ewsUrl: string;
  /** Where the answer came from: "SOAP https://autodiscover.contoso.com/autodiscover/autodiscover.svc". */
  via: string;
  groupingInformation?: string;
  /** The address the answer is for (after RedirectAddress, maybe another one than asked). */
  address: string;
}

/** Exchange Online: one URL for every tenant (Learn "Maintain affinity between a group of subscriptions and the Mailbox server"). */
export const EXCHANGE_ONLINE_EWS_URL = 'https://outlook.office365.com/EWS/Exchange.asmx';

/** A redirect to another domain, or to Exchange Online: the user decides (a UsageError, exit 2), never followed silently. */
export class AutodiscoverRefused extends UsageError {}

interface Run {
  deps: AutodiscoverDeps;
  /** The original address's domain, the root of every trust decision. */
  domain: string;
  allowed: readonly string[];
  address: string;
  redirects: number;
  seen: Set<string>;
  /** Why each place failed, for the final message. */
  failures: string[];
  unauthorized: number;
  answered: number;
  /** Places refused for the user's safety (https → http): named in the final message, not only with -v. */
  refused: string[];
}

type Step = { found: Discovered } | { restart: string } | undefined;

export async function discover(deps: AutodiscoverDeps, o: DiscoverOptions): Promise<Discovered> {
  const domain = domainOf(o.address);
  const run: Run = { deps, domain, allowed: (o.allowedDomains ?? []).map((d) => d.toLowerCase()), address: o.address, redirects: 0, seen: new Set(), failures: [], unauthorized: 0, answered: 0, refused: [] };
  for (;;) {
    const step = await discoverAddress(run);
    if (step && 'found' in step) return step.found;
    if (!step) break;
    run.address = step.restart;
  }
  throw nothingFound(run, o.address);
}

/** One pass over every place for the current address; `restart` when a server gave another address. */
async function discoverAddress(run: Run): Promise<Step> {
  const domain = domainOf(run.address);
  for (const host of [domain, `autodiscover.${domain}`]) {
    const step = await tryHost(run, host);
    if (step) return step;
  }
  const redirected = await viaHttpRedirect(run, domain);
  if (redirected) return redirected;
  return viaSrv(run, domain);
}

/** SOAP, then POX, at https://<host>/autodiscover/. */
async function tryHost(run: Run, host: string, port = 443): Promise<Step> {
  const base = `https://${host}${port === 443 ? '' : `:${port}`}/autodiscover/autodiscover`;
  return (await tryEndpoint(run, new URL(`${base}.svc`), 'SOAP')) ?? tryEndpoint(run, new URL(`${base}.xml`), 'POX');
}

const protocolOf = (url: URL): Protocol => (url.pathname.toLowerCase().endsWith('.svc') ? 'SOAP' : 'POX');

/** One authenticated POST and what follows from its answer (a redirect is followed from here, counted). */
async function tryEndpoint(run: Run, url: URL, protocol: Protocol): Promise<Step> {
  const key = `${protocol} ${url.href.toLowerCase()} ${run.address.toLowerCase()}`;
  if (run.seen.has(key)) return fail(run, `${protocol} ${url.href}: already asked; a redirect loop`);
  run.seen.add(key);
  const body = protocol === 'SOAP' ? buildGetUserSettings(run.address, url.href) : buildPoxRequest(run.address);
  let answer: HttpAnswer;
  try {
    answer = await run.deps.post(url, body, protocol);
  } catch (err) {
    return fail(run, `${protocol} ${url.href}: ${cleanText(err instanceof Error ? err.message : String(err))}`);
  }
  run.answered += 1;
  const where = `${protocol} ${url.href}`;
  if (answer.status >= 300 && answer.status < 400) return followLocation(run, where, url, answer.location);
  if (answer.status === 401 || answer.status === 403) {
    run.unauthorized += 1;
    return fail(run, `${where}: ${answer.status}, the credentials were refused`);
  }
  if (answer.status !== 200) return fail(run, `${where}: HTTP ${answer.status}`);
  const decoded = protocol === 'SOAP' ? decodeGetUserSettings(answer.body) : decodePoxAnswer(answer.body);
  return useAnswer(run, where, url, decoded);
}

async function useAnswer(run: Run, where: string, from: URL, answer: AutodiscoverAnswer): Promise<Step> {
  if (answer.kind === 'error') return fail(run, `${where}: ${cleanText(answer.code)}${answer.message ? ` (${cleanText(answer.message).slice(0, 200)})` : ''}`);
  if (answer.kind === 'redirect-address') return redirectAddress(run, where, answer.address);
  if (answer.kind === 'redirect-url') return followLocation(run, where, from, answer.url);
  const text = ewsUrlOf(answer);
  if (text === undefined) return fail(run, `${where}: the answer holds no EWS URL`);
  const ews = parseUrl(text);
  if (ews === undefined) return fail(run, `${where}: the EWS URL ${JSON.stringify(cleanText(text).slice(0, 200))} is not a URL`);
  if (ews.protocol !== 'https:') return refuse(run, `${where}: refused the EWS URL ${ews.href}: plain http would carry the credentials unencrypted`);
  run.deps.log(`autodiscover: ${where}: EWS URL ${ews.href}${answer.groupingInformation ? ` (GroupingInformation ${cleanText(answer.groupingInformation)})` : ''}`);
  const groupingInformation = answer.groupingInformation === undefined ? undefined : cleanText(answer.groupingInformation);
  return { found: { ewsUrl: ews.href, via: where, address: run.address, ...(groupingInformation ? { groupingInformation } : {}) } };
}

/** A redirect to another URL (HTTP 3xx, RedirectUrl, the plain-http 302): https only, within the domain, counted. */
async function followLocation(run: Run, where: string, from: URL, location: string | undefined): Promise<Step> {
  const target = location === undefined ? undefined : parseUrl(location, from);
  if (target === undefined) return fail(run, `${where}: a redirect without a usable Location`);
  if (target.protocol !== 'https:') return refuse(run, `${where}: refused the redirect to ${target.href}: plain http would carry the credentials unencrypted`);
  checkDomain(run, where, target.hostname);
  countRedirect(run, where, target.href);
  run.deps.log(`autodiscover: ${where}: redirected to ${target.href}`);
  return tryEndpoint(run, target, protocolOf(target));
}

function redirectAddress(run: Run, where: string, address: string): Step {
  const clean = cleanText(address);
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(clean)) return fail(run, `${where}: a redirect to ${JSON.stringify(clean.slice(0, 100))}, which is not an address`);
  checkDomain(run, where, domainOf(clean), clean);
  countRedirect(run, where, clean);
  run.deps.log(`autodiscover: ${where}: the mailbox is ${clean}; asking again for that address`);
  return { restart: clean };
}

function countRedirect(run: Run, where: string, to: string): void {
  run.redirects += 1;
  if (run.redirects > MAX_REDIRECTS) {
    throw new UsageError(`autodiscover gave up after ${MAX_REDIRECTS} redirects (the last from ${where} to ${to}); pass --url https://<server>/EWS/Exchange.asmx or set EWS_URL`);
  }
}

/** The plain-http GET to http://autodiscover.<domain>/…: only a 3xx to an https URL counts (no credentials sent). */
async function viaHttpRedirect(run: Run, domain: string): Promise<Step> {
  const url = new URL(`http://autodiscover.${domain}/autodiscover/autodiscover.xml`);
  const where = `GET ${url.href}`;
  let answer: { status: number; location?: string };
  try {
    answer = await run.deps.get(url);
  } catch (err) {
    return fail(run, `${where}: ${cleanText(err instanceof Error ? err.message : String(err))}`);
  }
  if (answer.status < 300 || answer.status >= 400) return fail(run, `${where}: HTTP ${answer.status}, no redirect`);
  return followLocation(run, where, url, answer.location);
}

/** DNS SRV _autodiscover._tcp.<domain>: only records on port 443, the best priority (lowest) then weight (highest). */
async function viaSrv(run: Run, domain: string): Promise<Step> {
  const name = `_autodiscover._tcp.${domain}`;
  let records: SrvRecord[];
  try {
    records = await run.deps.resolveSrv(name);
  } catch (err) {
    return fail(run, `SRV ${name}: ${cleanText((err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err)))}`);
  }
  const best = records.filter((r) => r.port === 443).sort((a, b) => a.priority - b.priority || b.weight - a.weight)[0];
  if (best === undefined) return fail(run, `SRV ${name}: ${records.length === 0 ? 'no record' : 'no record on port 443'}`);
  const host = best.name.replace(/\.$/, '').toLowerCase();
  checkDomain(run, `SRV ${name}`, host);
  run.deps.log(`autodiscover: SRV ${name}: ${host}:${best.port}`);
  return tryHost(run, host);
}

/** Throws AutodiscoverRefused when `host` is outside the address's domain and the domains the user allowed. */
function checkDomain(run: Run, where: string, host: string, address?: string): void {
  const h = host.toLowerCase();
  if ([run.domain, ...run.allowed].some((d) => h === d || h.endsWith(`.${d}`))) return;
  const online = /(^|\.)onmicrosoft\.com$|(^|\.)outlook\.com$|(^|\.)office365\.com$/.test(h);
  const what = address ? `sends ${run.address} on to ${address}` : `redirects to ${h}`;
  if (online) {
    throw new AutodiscoverRefused(
      `autodiscover: ${where} ${what}: the mailbox is in Exchange Online, which takes OAuth only; use --auth oauth (its URL ${EXCHANGE_ONLINE_EWS_URL} is then implied) or pass --url`,
    );
  }
  const other = address ? domainOf(address) : registrable(h);
  throw new AutodiscoverRefused(
    `autodiscover: ${where} ${what}, outside ${run.domain}; not sending your credentials there. Pass --url https://<server>/EWS/Exchange.asmx, or allow it with --autodiscover-allow ${other}`,
  );
}

function fail(run: Run, line: string): undefined {
  run.failures.push(line);
  run.deps.log(`autodiscover: ${line}`);
  return undefined;
}

function refuse(run: Run, line: string): undefined {
  run.refused.push(line);
  return fail(run, line);
}

function nothingFound(run: Run, address: string): Error {
  const advice = 'pass --url https://<server>/EWS/Exchange.asmx or set EWS_URL';
  if (run.unauthorized > 0 && run.unauthorized === run.answered) {
    return new AuthError(`autodiscover for ${address}: every server that answered refused the credentials (${run.unauthorized}× 401/403); check the user name and password, or ${advice}`, { status: 401 });
  }
  const tried = run.failures.length;
  const notable = run.refused[0] !== undefined ? `among them ${run.refused[0]}` : `the last: ${run.failures[tried - 1] ?? 'none'}`;
  return new UsageError(`autodiscover found no EWS URL for ${address} (${tried} places tried, -v lists them; ${notable}); ${advice}`);
}

export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/** The last two labels of a host name, as a suggestion for --autodiscover-allow (the user may choose a narrower one). */
function registrable(host: string): string {
  return host.split('.').slice(-2).join('.');
}

function parseUrl(text: string, base?: URL): URL | undefined {
  try {
    return new URL(text, base);
  } catch {
    return undefined;
  }
}
