// Pure builders and decoders for finding the signed-in account's primary SMTP address, which a DOMAIN\user sign-in
// does not carry: ConvertId of one of the mailbox's own folder ids, whose answer names the
// mailbox holding it, and ResolveNames as the fallback. No I/O. Server text comes back as sent.
import { ProtocolError, UsageError } from '../errors.js';
import type { RequestContext } from './types.js';
import { envelope, escapeXml, nonEmpty } from './requests.js';
import { compact, messageError, parseEnvelope, responseMessages } from './responses.js';
import { child, childText, type XmlElement } from './xml-tree.js';

/**
 * What ConvertId's request carries as the id's mailbox. [ews] "The ConvertId operation validates that a given SMTP
 * address has a valid format. The operation does not determine whether an SMTP address represents a valid
 * mailbox" (Microsoft Learn, "ConvertId operation"), so any well-formed address does; DavMail relies on the answer
 * naming the real mailbox instead (DavMail's ExchangeSession, since 2019). A reserved domain (RFC 2606) names nobody.
 */
export const PLACEHOLDER_MAILBOX = 'nobody@example.com';

/** IdFormatType of types.xsd. */
export type IdFormat = 'EwsLegacyId' | 'EwsId' | 'EntryId' | 'HexEntryId' | 'StoreId' | 'OwaId';

export type ConvertIdResult =
  | { ok: true; format: string; id: string; mailbox?: string; isArchive?: boolean }
  | { ok: false; responseCode: string; message: string };

/** One t:Mailbox of a t:Resolution (EmailAddressType); every field as sent, each may be missing. */
export interface NameCandidate {
  name?: string;
  address?: string;
  routingType?: string;
  /** Mailbox, Contact, PublicDL, PrivateDL, … (MailboxTypeType). */
  mailboxType?: string;
}

export type ResolveNamesResult =
  /** Success (one candidate) or Warning ErrorNameResolutionMultipleResults (several, `multiple`). */
  | { ok: true; candidates: NameCandidate[]; multiple: boolean }
  /** ErrorNameResolutionNoResults and any other error message. */
  | { ok: false; responseCode: string; message: string };

/** m:ConvertId of one EwsId; the answer's AlternateId/@Mailbox is what we want, not the converted id. */
export function buildConvertId(ctx: RequestContext, o: { id: string; mailbox: string; destination?: IdFormat }): string {
  const id = escapeXml(nonEmpty(o.id, 'folder id'), 'folder id');
  const mailbox = escapeXml(nonEmpty(o.mailbox, 'mailbox'), 'mailbox');
  // Schema order: m:SourceIds (messages namespace) holding t:AlternateId (types namespace); DestinationFormat required.
  return envelope(
    ctx,
    `<m:ConvertId DestinationFormat="${o.destination ?? 'EwsId'}"><m:SourceIds>` +
      `<t:AlternateId Format="EwsId" Id="${id}" Mailbox="${mailbox}"/></m:SourceIds></m:ConvertId>`,
  );
}

/**
 * m:ResolveNames of one name in the directory only: the user's own contacts could hold anyone's address, and
 * ReturnFullContactData (required by the schema) is false because t:Mailbox already has the address.
 */
export function buildResolveNames(ctx: RequestContext, entry: string): string {
  if (entry.trim() === '') throw new UsageError('ResolveNames needs a name');
  const text = escapeXml(entry, 'name to resolve');
  return envelope(
    ctx,
    `<m:ResolveNames ReturnFullContactData="false" SearchScope="ActiveDirectory"><m:UnresolvedEntry>${text}</m:UnresolvedEntry></m:ResolveNames>`,
  );
}

/**
 * The first response message of a ConvertId answer. Shape (Microsoft Learn, "ConvertId operation", response
 * example): m:ConvertIdResponseMessage/m:AlternateId with xsi:type="t:AlternateIdType" and Format, Id, Mailbox.
 * An error message is a result; a SOAP fault throws EwsResponseError; a malformed answer, ProtocolError.
 */
export function decodeConvertIdResponse(xml: string): ConvertIdResult {
  const message = responseMessages(parseEnvelope(xml), 'ConvertId')[0];
  const error = messageError(message);
  if (error !== undefined) return { ok: false, responseCode: error.responseCode, message: error.messageText };
  const alt = child(message, 'AlternateId');
  if (alt === undefined || !alt.attrs.Id) throw new ProtocolError('a ConvertId response message has no AlternateId with an Id');
  const archive = alt.attrs.IsArchive?.trim();
  return compact({
    ok: true as const,
    format: alt.attrs.Format ?? '',
    id: alt.attrs.Id,
    mailbox: alt.attrs.Mailbox?.trim() || undefined,
    isArchive: archive === 'true' || archive === '1' ? true : archive === 'false' || archive === '0' ? false : undefined,
  });
}

/**
 * The first response message of a ResolveNames answer (Microsoft Learn, "ResolveNames operation"): Success with one
 * t:Resolution; Warning with ErrorNameResolutionMultipleResults and several; Error with
 * ErrorNameResolutionNoResults. A warning is a result with its candidates, never an error.
 */
export function decodeResolveNamesResponse(xml: string): ResolveNamesResult {
  const message = responseMessages(parseEnvelope(xml), 'ResolveNames')[0];
  const code = childText(message, 'ResponseCode');
  const set = child(message, 'ResolutionSet');
  if (message.attrs.ResponseClass !== 'Warning' || set === undefined) {
    const error = messageError(message);
    if (error !== undefined) return { ok: false, responseCode: error.responseCode, message: error.messageText };
  }
  const candidates = (set?.children ?? []).filter((c) => c.local === 'Resolution').flatMap((r) => candidateOf(child(r, 'Mailbox')) ?? []);
  return { ok: true, candidates, multiple: code === 'ErrorNameResolutionMultipleResults' || candidates.length > 1 };
}

function candidateOf(el: XmlElement | undefined): NameCandidate | undefined {
  if (el === undefined) return undefined;
  const token = (name: string): string | undefined => childText(el, name) || undefined;
  return compact({ name: child(el, 'Name')?.text, address: token('EmailAddress'), routingType: token('RoutingType'), mailboxType: token('MailboxType') });
}

/** Kinds of directory entry that are not someone's own mailbox (MailboxTypeType of types.xsd). */
const NOT_A_MAILBOX = new Set(['contact', 'privatedl', 'publicdl', 'publicfolder', 'oneoff', 'groupmailbox', 'implicitcontact']);

/**
 * The one candidate that is the account `account` (the name as resolved, e.g. `alice`), or undefined. Only SMTP
 * mailboxes count. One candidate is the account: the directory found the account's own mailbox by its name, so a
 * single answer can only be that. Several (ResolveNames matches prefixes of names, aliases and addresses) count
 * only when exactly one has the account as its address's local part, its whole address or its display name.
 */
export function chooseCandidate(candidates: readonly NameCandidate[], account: string): NameCandidate | undefined {
  const mailboxes = candidates.filter(
    (c) => c.address !== undefined && isSmtpAddress(c.address) && (c.routingType ?? 'SMTP').toUpperCase() === 'SMTP' && !NOT_A_MAILBOX.has((c.mailboxType ?? '').toLowerCase()),
  );
  if (mailboxes.length <= 1) return mailboxes[0];
  const wanted = account.trim().toLowerCase();
  const exact = mailboxes.filter((c) => {
    const address = c.address!.toLowerCase();
    return address === wanted || address.slice(0, address.lastIndexOf('@')) === wanted || c.name?.trim().toLowerCase() === wanted;
  });
  return exact.length === 1 ? exact[0] : undefined;
}

/**
 * An SMTP address we accept from a server and put on every event, in state paths and in X-AnchorMailbox: an
 * RFC 5322 dot-atom local part, one @, a dotted domain of letters, digits and hyphens, at most 320 characters.
 * Checks the shape, not existence; nothing a terminal or a header could misread gets through.
 */
export function isSmtpAddress(text: string): boolean {
  return text.length <= 320 && /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(text);
}
