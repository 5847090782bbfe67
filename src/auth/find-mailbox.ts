// After a DOMAIN\user sign-in (NTLM's classic form), find the account's own primary SMTP address from the server:
// GetFolder root (IdOnly) → ConvertId of that id → the answer's Mailbox (DavMail's way since 2019: "more reliable
// than ResolveNames"); else ResolveNames of the account name; else a UsageError that asks for --mailbox. No I/O.

import { AuthError, EwsResponseError, EwsWatchError, TransportError, UsageError, describeError } from '../errors.js';
import { chooseCandidate, isSmtpAddress, PLACEHOLDER_MAILBOX, type ConvertIdResult, type ResolveNamesResult } from '../ews/identity.js';
import type { FolderResult } from '../ews/items.js';
import { classifyResponseCode } from '../ews/response-codes.js';
import { excerpt } from '../ews/excerpt.js';
import type { IdentityClient } from '../ews/client.js';

export interface FoundMailbox {
  address: string;
  /** How it was found, for -v and `check`: "ConvertId of the root folder", "ResolveNames of alice". */
  how: string;
}

export interface FindOptions {
  /** -v lines: each step's outcome. */
  debug: (line: string) => void;
  /** The EWS URL's host name, for the example address in the error message. */
  host?: string;
  signal?: AbortSignal;
}

/** Why a step gave no address (for -v); errors that say more than "not this way" are thrown instead. */
type Step = { address: string } | { why: string };

export async function findMailbox(client: IdentityClient, user: string, o: FindOptions): Promise<FoundMailbox> {
  const convert = await attempt(() => byConvertId(client, o.signal));
  if ('address' in convert) return { address: convert.address, how: 'ConvertId of the root folder' };
  o.debug(`mailbox: ConvertId gave no address: ${convert.why}`);
  for (const entry of namesToResolve(user)) {
    const resolved = await attempt(() => byResolveNames(client, entry, o.signal));
    if ('address' in resolved) return { address: resolved.address, how: `ResolveNames of ${entry}` };
    o.debug(`mailbox: ResolveNames of ${entry} gave no address: ${resolved.why}`);
  }
  throw new UsageError(
    `cannot find the SMTP address of ${user}: the server answered neither ConvertId nor ResolveNames with it (-v says more); pass --mailbox ${exampleAddress(user, o.host)} or set EWS_MAILBOX`,
  );
}

async function byConvertId(client: IdentityClient, signal?: AbortSignal): Promise<Step> {
  const root = await client.rootFolder(signal);
  if (!root.ok) return { why: `GetFolder root: ${root.responseCode}` };
  const answer = await client.convertId(root.folderId, PLACEHOLDER_MAILBOX, signal);
  if (!answer.ok) return { why: `${answer.responseCode}${answer.message ? `: ${excerpt(answer.message, 0, 120)}` : ''}` };
  const mailbox = answer.mailbox;
  if (mailbox === undefined) return { why: 'the answer has no Mailbox' };
  // A server that echoes the request's Mailbox tells us nothing about the account.
  if (mailbox.toLowerCase() === PLACEHOLDER_MAILBOX) return { why: 'the answer repeats the placeholder address it was sent' };
  if (!isSmtpAddress(mailbox)) return { why: `the answer's Mailbox ${excerpt(mailbox)} is not an SMTP address` };
  return { address: mailbox };
}

async function byResolveNames(client: IdentityClient, entry: string, signal?: AbortSignal): Promise<Step> {
  const answer = await client.resolveNames(entry, signal);
  if (!answer.ok) return { why: answer.responseCode };
  const chosen = chooseCandidate(answer.candidates, entry.slice(entry.indexOf('\\') + 1));
  if (chosen?.address !== undefined) return { address: chosen.address };
  return { why: answer.candidates.length === 0 ? 'no mailbox in the answer' : `${answer.candidates.length} candidates and none is exactly ${entry}` };
}

/**
 * A step's error: a refusal of the credentials, a network failure, throttling and aborts end the search (they
 * would end anything else we tried too, and say more than "pass --mailbox"); any other answer of the server that
 * is not an address (an EWS error, a fault, an HTTP error page, a malformed body) only means "not this way".
 */
async function attempt(step: () => Promise<Step>): Promise<Step> {
  try {
    return await step();
  } catch (err) {
    if (err instanceof AuthError || !(err instanceof EwsWatchError)) throw err;
    if (err instanceof TransportError && err.status === undefined) throw err;
    if (err instanceof EwsResponseError && ['back-off', 'auth'].includes(classifyResponseCode(err.responseCode))) throw err;
    return { why: describeError(err) };
  }
}

/** The account name alone (alice of CONTOSO\alice), then the whole DOMAIN\user form: directories differ. */
export function namesToResolve(user: string): string[] {
  const slash = user.indexOf('\\');
  const account = user.slice(slash + 1).trim();
  return [...new Set([account, user.trim()])].filter((n) => n !== '');
}

/** An address to show in the error message: the account name at the server's mail domain, as far as we can tell. */
export function exampleAddress(user: string, host?: string): string {
  const slash = user.indexOf('\\');
  const local = (user.slice(slash + 1).trim().replace(/[^A-Za-z0-9._-]/g, '') || 'alice').toLowerCase();
  const labels = (host ?? '').toLowerCase().split('.');
  // mail.contoso.com → contoso.com; a bare host or an IP address tells nothing, the NetBIOS domain may.
  const fromHost = labels.length >= 2 && !/^\d+$/.test(labels.at(-1)!) ? labels.slice(labels.length > 2 ? 1 : 0).join('.') : undefined;
  const netbios = slash > 0 ? user.slice(0, slash).trim().toLowerCase().replace(/[^a-z0-9-]/g, '') : '';
  return `${local}@${fromHost ?? (netbios ? `${netbios}.com` : 'contoso.com')}`;
}
