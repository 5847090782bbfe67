// Answers that no EWS endpoint gives, turned into one-line errors that say what came back and what to try: an
// HTML page where SOAP belongs, a redirect (undici does not follow them, and ews-watch must not carry credentials
// to wherever a redirect points), a 404/405/other 4xx; plus the server's Retry-After. Server text in these
// messages (a page title, a Location) is stripped of controls and bounded.

import { STATUS_CODES } from 'node:http';
import { TransportError } from '../errors.js';
import { EWS_PATH, isServerErrorPage } from '../ews/endpoint.js';
import { stripControl } from '../base/sanitize.js';

type Headers = Record<string, string | string[] | undefined>;

export interface AnswerFacts {
  status: number;
  body: string;
  headers?: Headers;
  operation: string;
  /** The configured EWS URL, for hints; without it the hints stay generic. */
  url?: URL;
  /** The server's Retry-After, already parsed. */
  backOffMs?: number;
}

/** Retry-After values past this are not believed (the policy clamps hints again). */
const MAX_RETRY_AFTER_MS = 24 * 3600_000;

function header(headers: Headers | undefined, name: string): string | undefined {
  const raw = headers?.[name];
  return Array.isArray(raw) ? raw[0] : raw;
}

/**
 * Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Milliseconds to wait from `now`, or undefined when
 * absent or unreadable. A date in the past means "now" (0).
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number | undefined): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d{1,9}$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  if (now === undefined || !/^[A-Za-z]{3},? /.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

/** True when a body is a SOAP envelope (allowing a BOM, an XML declaration and comments before it). */
export function looksLikeSoap(body: string): boolean {
  return /^\uFEFF?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--[\s\S]*?-->\s*)*<(?:[A-Za-z_][\w.-]*:)?Envelope[\s>/]/.test(body.slice(0, 8192));
}

function isHtml(body: string, headers: Headers | undefined): boolean {
  return /html/i.test(header(headers, 'content-type') ?? '') || /^\uFEFF?\s*(?:<!doctype html|<html|<head|<body)/i.test(body.slice(0, 1024));
}

/** Printable, one line, at most `max` characters. */
function clean(text: string, max: number): string {
  const one = stripControl(text.replace(/\s+/g, ' ')).trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

function titleOf(body: string): string | undefined {
  const raw = /<title[^>]*>([\s\S]{0,2000}?)<\/title>/i.exec(body.slice(0, 65536))?.[1];
  if (raw === undefined) return undefined;
  const text = raw
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#0*39;|&apos;/g, "'")
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&');
  return clean(text, 80) || undefined;
}

/** "EWS lives at /EWS/Exchange.asmx: try --url …", when the configured path is not that; '' otherwise. */
export function endpointHint(url: URL | undefined): string {
  if (!url || url.pathname.toLowerCase().endsWith(EWS_PATH.toLowerCase())) return '';
  return `EWS lives at ${EWS_PATH}: try --url ${url.origin}${EWS_PATH}`;
}

function withHint(text: string, url: URL | undefined, fallback: string): string {
  return `${text}; ${endpointHint(url) || fallback}`;
}

/** A 200 whose body is not a SOAP envelope: an HTML page (a portal, a proxy, IIS's start page), text, JSON. */
export function notEwsAnswer(f: AnswerFacts): TransportError {
  const title = titleOf(f.body);
  const what = isHtml(f.body, f.headers)
    ? `an HTML page${title ? ` (title: "${title}")` : ''}`
    : f.body.trim() === ''
      ? 'an empty body'
      : `text that is not SOAP ("${clean(f.body, 60)}")`;
  const message = withHint(`${f.operation}: the server answered with ${what}, not EWS`, f.url, 'check --url: it must be the EWS endpoint (…/EWS/Exchange.asmx), reached without a proxy sign-in page in between');
  return new TransportError(message, { status: f.status, notEws: true });
}

function resolveLocation(raw: string | undefined, url: URL | undefined): string | undefined {
  if (!raw) return undefined;
  try {
    const at = new URL(raw, url);
    // Credentials in a Location are nobody's business on a terminal.
    at.username = '';
    at.password = '';
    return clean(at.href, 200);
  } catch {
    return clean(raw, 200);
  }
}

/** A 3xx: name where it points and what that means. */
export function redirectAnswer(f: AnswerFacts): TransportError {
  const location = resolveLocation(header(f.headers, 'location'), f.url);
  const code = `HTTP ${f.status}`;
  const opts = { status: f.status, ...(location ? { location } : {}), ...(f.backOffMs === undefined ? {} : { backOffMs: f.backOffMs }) };
  let message: string;
  if (!location) {
    message = withHint(`${f.operation}: the server answered ${code} (a redirect) without saying where to, not EWS`, f.url, 'check --url');
  } else if (isServerErrorPage(location)) {
    message = `${f.operation}: the server redirected to its error page (${code} to ${location}): it is failing; try again later`;
  } else if (/\/owa(?:\/|$)/i.test(pathOf(location))) {
    const page = /\/owa\/auth\//i.test(pathOf(location)) ? 'the Outlook on the web sign-in page' : 'Outlook on the web';
    message = withHint(
      `${f.operation}: the server redirected to ${page} (${code} to ${location}), not EWS: the URL is not the EWS endpoint, or a proxy in front of it wants a browser sign-in`,
      f.url,
      'check --url and --auth (EWS must be published without forms sign-in)',
    );
  } else if (pathOf(location).toLowerCase().endsWith(EWS_PATH.toLowerCase())) {
    message = `${f.operation}: the server redirected (${code}) to ${location}; ews-watch does not follow redirects: use --url ${location}`;
  } else {
    message = withHint(`${f.operation}: the server redirected (${code}) to ${location}, not EWS`, f.url, 'check --url');
  }
  return new TransportError(message, opts);
}

function pathOf(location: string): string {
  try {
    return new URL(location, 'http://x').pathname;
  } catch {
    return location;
  }
}

/** A 4xx that is not about credentials, time or throttling: the request cannot succeed at this URL. */
export function clientErrorAnswer(f: AnswerFacts, excerpt: string): TransportError {
  const reason = STATUS_CODES[f.status];
  const code = `HTTP ${f.status}${reason ? ` (${reason})` : ''}`;
  const path = f.url ? ` for ${clean(f.url.pathname, 120)}` : '';
  const said = excerpt ? `: "${excerpt}"` : '';
  const text =
    f.status === 404
      ? `${f.operation}: ${code}${path}: there is no EWS endpoint at this URL`
      : f.status === 405
        ? `${f.operation}: ${code}${path}: this URL does not take the POST that EWS needs`
        : `${f.operation}: ${code} from the server${said}`;
  return new TransportError(withHint(text, f.url, f.status === 404 || f.status === 405 ? 'check --url, and that EWS is enabled on the server' : 'check --url and --server-version'), {
    status: f.status,
    ...(f.backOffMs === undefined ? {} : { backOffMs: f.backOffMs }),
  });
}
