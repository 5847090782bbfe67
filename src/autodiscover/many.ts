// Autodiscover for many mailboxes: SOAP GetUserSettings in batches of MAX_USERS_PER_REQUEST, each mailbox's answer
// paired with its address by position, per-mailbox redirects followed under discover()'s rules (https only, at most
// MAX_REDIRECTS, never out of the address's domain unless allowed). One mailbox's failure is its own: a reason, never
// a throw. HTTP is injected (the same deps as flow.ts); no timers, no process (protocol-notes.md §4.5, §7).

import { cleanText } from '../base/sanitize.js';
import { buildGetUserSettingsBatch, decodeGetUserSettingsBatch, ewsUrlOf, MAX_USERS_PER_REQUEST, type AutodiscoverAnswer } from './codec.js';
import { domainOf, MAX_REDIRECTS, type AutodiscoverDeps } from './flow.js';

export interface DiscoverManyOptions {
  addresses: readonly string[];
  /**
   * A SOAP endpoint to ask for every address (e.g. the one discover() found for the service account). Without it,
   * per domain: https://<domain>/autodiscover/autodiscover.svc, then https://autodiscover.<domain>/….
   */
  endpoint?: string;
  /** Domains besides each address's own that redirects may lead to (--autodiscover-allow). */
  allowedDomains?: readonly string[];
  /** How many more times to ask for an address an answer left out (a throttled server's short list); default 2. */
  retries?: number;
}

export type ManyResult =
  | { ok: true; ewsUrl: string; groupingInformation?: string; /** After RedirectAddress, maybe another one. */ address: string; via: string }
  /** `refused`: a rule of ours stopped it (http, another domain); the user decides. */
  | { ok: false; reason: string; refused?: true };

interface Item {
  /** As the caller gave it: the key of the result. */
  asked: string;
  current: string;
  /** A per-mailbox RedirectUrl to ask next, instead of the domain's endpoint. */
  endpoint?: URL;
  redirects: number;
  leftOut: number;
  seen: Set<string>;
}

interface Run {
  deps: AutodiscoverDeps;
  o: DiscoverManyOptions;
  allowed: readonly string[];
  /** The endpoint that answered, per domain (or '*' for o.endpoint). */
  resolved: Map<string, URL>;
  results: Map<string, ManyResult>;
}

type Posted = { users: AutodiscoverAnswer[]; url: URL } | { failure: string; refused?: true };

/** Each distinct address (case-insensitively; the first spelling is the key) with its EWS URL and grouping, or why not. */
export async function discoverMany(deps: AutodiscoverDeps, o: DiscoverManyOptions): Promise<Map<string, ManyResult>> {
  const run: Run = { deps, o, allowed: (o.allowedDomains ?? []).map((d) => d.toLowerCase()), resolved: new Map(), results: new Map() };
  const unique = new Map<string, Item>();
  for (const a of o.addresses) if (!unique.has(a.toLowerCase())) unique.set(a.toLowerCase(), { asked: a, current: a, redirects: 0, leftOut: 0, seen: new Set([a.toLowerCase()]) });
  let pending = [...unique.values()];
  while (pending.length > 0) {
    const next: Item[] = [];
    for (const [target, items] of byTarget(run, pending)) {
      for (let i = 0; i < items.length; i += MAX_USERS_PER_REQUEST) next.push(...(await askBatch(run, target, items.slice(i, i + MAX_USERS_PER_REQUEST))));
    }
    pending = next;
  }
  const ordered = new Map<string, ManyResult>();
  for (const item of unique.values()) ordered.set(item.asked, run.results.get(item.asked)!);
  return ordered;
}

/** Pending items by where to ask them: their own RedirectUrl, the caller's endpoint, or their current domain. */
function byTarget(run: Run, items: Item[]): Map<string, Item[]> {
  const out = new Map<string, Item[]>();
  for (const item of items) {
    const key = item.endpoint ? `url ${item.endpoint.href}` : run.o.endpoint !== undefined ? '*' : `domain ${domainOf(item.current)}`;
    out.set(key, [...(out.get(key) ?? []), item]);
  }
  return out;
}

/** One batch: the endpoints to try in order, the first that answers a GetUserSettings decides; returns items to ask again. */
async function askBatch(run: Run, target: string, items: Item[]): Promise<Item[]> {
  const domain = domainOf(items[0]!.current);
  const resolvedKey = target === '*' ? '*' : target.startsWith('domain ') ? domain : undefined;
  const known = resolvedKey === undefined ? undefined : run.resolved.get(resolvedKey);
  const places = run.o.endpoint !== undefined ? [new URL(run.o.endpoint)] : [domain, `autodiscover.${domain}`].map((h) => new URL(`https://${h}/autodiscover/autodiscover.svc`));
  // The place that answered before first; should it fail now, the others still get their turn.
  const candidates = items[0]!.endpoint !== undefined ? [items[0]!.endpoint] : known ? [known, ...places.filter((p) => p.href !== known.href)] : places;
  const failures: string[] = [];
  let refused: string | undefined;
  for (const url of candidates) {
    const posted = await postBatch(run, url, items.map((i) => i.current), domain);
    if ('failure' in posted) {
      failures.push(posted.failure);
      if (posted.refused) refused ??= posted.failure;
      continue;
    }
    if (resolvedKey !== undefined) run.resolved.set(resolvedKey, posted.url);
    return items.flatMap((item, i) => useAnswer(run, item, posted.users[i], posted.url));
  }
  // A refusal for the user's safety is named even when a later place failed otherwise (as discover() does).
  const notable = refused !== undefined ? `among them ${refused}` : `the last: ${failures[failures.length - 1] ?? 'none'}`;
  const reason = `autodiscover: no GetUserSettings answer (${failures.length} places tried; ${notable})`;
  for (const item of items) settle(run, item, { ok: false, reason, ...(refused !== undefined ? { refused: true as const } : {}) });
  return [];
}

/** POSTs one GetUserSettings, following whole-request redirects (HTTP 3xx, RedirectUrl) under the rules. */
async function postBatch(run: Run, first: URL, addresses: string[], domain: string): Promise<Posted> {
  let url = first;
  for (let hops = 0; ; hops++) {
    const where = `SOAP ${url.href}`;
    let answer;
    try {
      answer = await run.deps.post(url, buildGetUserSettingsBatch(addresses, url.href), 'SOAP');
    } catch (err) {
      return logged(run, { failure: `${where}: ${cleanText(err instanceof Error ? err.message : String(err))}` });
    }
    let location: string | undefined;
    if (answer.status >= 300 && answer.status < 400) location = answer.location ?? '';
    else if (answer.status === 401 || answer.status === 403) return logged(run, { failure: `${where}: ${answer.status}, the credentials were refused` });
    else if (answer.status !== 200) return logged(run, { failure: `${where}: HTTP ${answer.status}` });
    else {
      const decoded = decodeGetUserSettingsBatch(answer.body);
      if (decoded.kind === 'users') return { users: decoded.users, url };
      if (decoded.kind !== 'redirect-url') return logged(run, { failure: `${where}: ${describe(decoded)}` });
      location = decoded.url;
    }
    const to = checkUrl(run, where, location, url, domain, 'redirect');
    if ('failure' in to) return logged(run, to);
    if (hops + 1 > MAX_REDIRECTS) return logged(run, { failure: `${where}: more than ${MAX_REDIRECTS} redirects` });
    run.deps.log(`autodiscover: ${where}: redirected to ${to.url.href}`);
    url = to.url;
  }
}

/** What one mailbox's UserResponse means for it: a result, or the item to ask again (redirected or left out). */
function useAnswer(run: Run, item: Item, answer: AutodiscoverAnswer | undefined, from: URL): Item[] {
  const where = `SOAP ${from.href}`;
  if (answer === undefined) {
    item.leftOut += 1;
    if (item.leftOut <= (run.o.retries ?? 2)) return [item];
    return settle(run, item, { ok: false, reason: `${where} left ${item.current} out of ${item.leftOut} answers (a throttled server's short list)` });
  }
  if (answer.kind === 'error') return settle(run, item, { ok: false, reason: `${where}: ${describe(answer)}` });
  if (answer.kind === 'redirect-address') return redirectAddress(run, item, answer.address, where);
  if (answer.kind === 'redirect-url') {
    const to = checkUrl(run, where, answer.url, from, domainOf(item.asked), 'redirect');
    if ('failure' in to) return settle(run, item, { ok: false, reason: to.failure, ...(to.refused ? { refused: true as const } : {}) });
    return redirected(run, item, `${to.url.href} ${item.current}`, where, () => void (item.endpoint = to.url));
  }
  const text = ewsUrlOf(answer);
  if (text === undefined) return settle(run, item, { ok: false, reason: `${where}: the answer for ${item.current} holds no EWS URL` });
  const ews = checkUrl(run, where, text, undefined, undefined, 'EWS URL');
  if ('failure' in ews) return settle(run, item, { ok: false, reason: ews.failure, ...(ews.refused ? { refused: true as const } : {}) });
  const grouping = answer.groupingInformation === undefined ? undefined : cleanText(answer.groupingInformation);
  return settle(run, item, { ok: true, ewsUrl: ews.url.href, address: item.current, via: where, ...(grouping ? { groupingInformation: grouping } : {}) });
}

function redirectAddress(run: Run, item: Item, address: string, where: string): Item[] {
  const clean = cleanText(address);
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(clean)) return settle(run, item, { ok: false, reason: `${where}: a redirect to ${JSON.stringify(clean.slice(0, 100))}, which is not an address` });
  if (!inDomain(run, domainOf(clean), domainOf(item.asked))) {
    const reason = `${where} sends ${item.current} on to ${clean}, outside ${domainOf(item.asked)}; not followed (allow it with --autodiscover-allow ${domainOf(clean)})`;
    return settle(run, item, { ok: false, reason, refused: true });
  }
  return redirected(run, item, clean.toLowerCase(), where, () => {
    item.current = clean;
    delete item.endpoint;
  });
}

/** Counts a redirect of one mailbox and stops it at a loop or past MAX_REDIRECTS. */
function redirected(run: Run, item: Item, key: string, where: string, apply: () => void): Item[] {
  if (item.seen.has(key)) return settle(run, item, { ok: false, reason: `${where}: a redirect loop for ${item.asked}` });
  item.seen.add(key);
  item.redirects += 1;
  if (item.redirects > MAX_REDIRECTS) return settle(run, item, { ok: false, reason: `autodiscover gave up on ${item.asked} after ${MAX_REDIRECTS} redirects (the last from ${where})` });
  apply();
  run.deps.log(`autodiscover: ${where}: ${item.asked} redirected (${item.redirects})`);
  return [item];
}

/** A URL from the server: parsed, https only, and (for a redirect) within `domain` or an allowed one. */
function checkUrl(run: Run, where: string, text: string, base: URL | undefined, domain: string | undefined, what: string): { url: URL } | { failure: string; refused?: true } {
  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    return { failure: `${where}: the ${what} ${JSON.stringify(cleanText(text).slice(0, 200))} is not a URL` };
  }
  if (url.protocol !== 'https:') return { failure: `${where}: refused the ${what} ${url.href}: plain http would carry the credentials unencrypted`, refused: true };
  if (domain !== undefined && !inDomain(run, url.hostname, domain)) {
    return { failure: `${where}: refused the ${what} to ${url.hostname}, outside ${domain} (allow it with --autodiscover-allow)`, refused: true };
  }
  return { url };
}

function inDomain(run: Run, host: string, domain: string): boolean {
  const h = host.toLowerCase();
  const trusted = [domain, ...run.allowed, ...(run.o.endpoint !== undefined ? [new URL(run.o.endpoint).hostname.toLowerCase()] : [])];
  return trusted.some((d) => h === d || h.endsWith(`.${d}`));
}

function describe(a: Exclude<AutodiscoverAnswer, { kind: 'settings' }>): string {
  if (a.kind === 'error') return `${cleanText(a.code)}${a.message ? ` (${cleanText(a.message).slice(0, 200)})` : ''}`;
  return a.kind === 'redirect-address' ? `RedirectAddress for the whole request` : `RedirectUrl ${cleanText(a.url).slice(0, 200)}`;
}

function settle(run: Run, item: Item, result: ManyResult): [] {
  run.results.set(item.asked, result);
  if (!result.ok) run.deps.log(`autodiscover: ${item.asked}: ${result.reason}`);
  return [];
}

function logged<T extends { failure: string }>(run: Run, p: T): T {
  run.deps.log(`autodiscover: ${p.failure}`);
  return p;
}
