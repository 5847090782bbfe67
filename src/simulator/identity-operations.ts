// ConvertId and ResolveNames over the simulated mailbox and directory, as Exchange answers them: ConvertId names
// the mailbox that holds an id (its primary SMTP address, whatever Mailbox the request carried), ResolveNames
// matches a name against the directory (Success for one, Warning ErrorNameResolutionMultipleResults for several,
// Error ErrorNameResolutionNoResults for none). Shapes: Microsoft Learn, "ConvertId operation" and "ResolveNames
// operation" (response examples). Scenario switches make a server that answers neither or only one.

import { reply } from './http-reply.js';
import type { IdentityPayload, IdFormat, SourceId } from './identity-request-decoder.js';
import type { DirectoryEntry } from './identity-config.js';
import type { OperationCall, SimContext } from './operations.js';
import { buildErrorMessageFields, buildFault, wrapOrdinary, type ResponseErrorSpec } from './soap-responses.js';
import { escapeAttr, escapeText } from './xml-text.js';

type Payload<K extends IdentityPayload['kind']> = Extract<IdentityPayload, { kind: K }>;

const TEXT: Record<string, string> = {
  ErrorNameResolutionNoResults: 'No results were found.',
  ErrorNameResolutionMultipleResults: 'Multiple results were found.',
  ErrorInvalidSmtpAddress: 'The SMTP address format is invalid.',
};
const withText = (spec: ResponseErrorSpec): ResponseErrorSpec => (spec.message || !TEXT[spec.code] ? spec : { ...spec, message: TEXT[spec.code]! });

/** What `id` becomes in another format: the simulator's ids carry their entry id bytes after a 41-byte header. */
function convert(id: string, to: IdFormat): string {
  if (to === 'EwsId' || to === 'EwsLegacyId') return id;
  const entry = Buffer.from(id, 'base64').subarray(41);
  if (to === 'HexEntryId') return entry.toString('hex').toUpperCase();
  return to === 'OwaId' ? encodeURIComponent(entry.toString('base64')) : entry.toString('base64');
}

function convertOne(ctx: SimContext, source: SourceId, to: IdFormat): { ok: string } | { error: ResponseErrorSpec } {
  if (source.kind === 'public') return { error: { code: 'ErrorFolderNotFound' } };
  // [ews] "validates that a given SMTP address has a valid format … does not determine whether an SMTP address
  // represents a valid mailbox" (ConvertId operation): the format is checked, the mailbox is taken from the id.
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(source.mailbox)) return { error: { code: 'ErrorInvalidSmtpAddress' } };
  if ((source.format !== 'EwsId' && source.format !== 'EwsLegacyId') || !ctx.ids.ownsId(source.id)) return { error: { code: 'ErrorInvalidIdMalformed' } };
  const attrs = `Format="${to}" Id="${escapeAttr(convert(source.id, to))}" Mailbox="${escapeAttr(ctx.mailbox.address)}"`;
  return { ok: `<m:AlternateId xsi:type="t:AlternateIdType" ${attrs}/>` };
}

export function handleConvertId(ctx: SimContext, call: OperationCall, payload: Payload<'ConvertId'>): void {
  if (ctx.identity.convertId === 'unsupported') return unsupported(ctx, call);
  const results = payload.sources.map((s) => convertOne(ctx, s, payload.destination));
  ctx.log(`convert id: ${results.filter((r) => 'ok' in r).length}/${results.length} converted`);
  reply(call.req, call.res, ctx.replyOptions, 200, buildConvertIdResponse(results));
}

export function buildConvertIdResponse(results: Array<{ ok: string } | { error: ResponseErrorSpec }>): string {
  const tag = 'm:ConvertIdResponseMessage';
  const messages = results.map((r) =>
    'ok' in r
      ? `<${tag} ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>${r.ok}</${tag}>`
      : `<${tag} ResponseClass="Error">${buildErrorMessageFields(withText(r.error))}</${tag}>`,
  );
  return wrapOrdinary('ConvertId', messages.join(''));
}

/**
 * Ambiguous name resolution, roughly as Active Directory's ANR does it: a prefix of the display name or of one
 * of its words, of the alias or the account name, or of the SMTP address ("smtp:" prefix allowed).
 */
export function matchesName(entry: DirectoryEntry, text: string): boolean {
  const q = text.trim().toLowerCase().replace(/^smtp:/, '');
  if (q === '') return false;
  const name = entry.name.toLowerCase();
  const address = entry.address.toLowerCase();
  const fields = [name, ...name.split(/\s+/), address, address.slice(0, address.indexOf('@')), entry.account.toLowerCase()];
  return fields.some((f) => f.startsWith(q));
}

export function handleResolveNames(ctx: SimContext, call: OperationCall, payload: Payload<'ResolveNames'>): void {
  if (ctx.identity.resolveNames === 'unsupported') return unsupported(ctx, call);
  // The simulated mailbox has no contacts: only the directory can answer.
  const searched = ctx.identity.resolveNames === 'exchange' && payload.scope !== 'Contacts';
  const found = searched ? ctx.identity.directory.filter((e) => matchesName(e, payload.entry)).slice(0, 100) : [];
  ctx.log(`resolve names: ${found.length} match(es)`);
  reply(call.req, call.res, ctx.replyOptions, 200, buildResolveNamesResponse(found, payload.fullContactData));
}

function resolution(e: DirectoryEntry, full: boolean): string {
  const mailbox =
    `<t:Mailbox><t:Name>${escapeText(e.name)}</t:Name><t:EmailAddress>${escapeText(e.address)}</t:EmailAddress>` +
    '<t:RoutingType>SMTP</t:RoutingType><t:MailboxType>Mailbox</t:MailboxType></t:Mailbox>';
  // [ews] ReturnFullContactData: directory entries also come as a t:Contact (ResolveNames operation, remarks)
  const contact = full
    ? `<t:Contact><t:DisplayName>${escapeText(e.name)}</t:DisplayName><t:EmailAddresses><t:Entry Key="EmailAddress1">SMTP:${escapeText(e.address)}</t:Entry></t:EmailAddresses><t:ContactSource>ActiveDirectory</t:ContactSource></t:Contact>`
    : '';
  return `<t:Resolution>${mailbox}${contact}</t:Resolution>`;
}

export function buildResolveNamesResponse(found: readonly DirectoryEntry[], full: boolean): string {
  const tag = 'm:ResolveNamesResponseMessage';
  if (found.length === 0) return buildResolveNamesError({ code: 'ErrorNameResolutionNoResults' });
  const set = `<m:ResolutionSet TotalItemsInView="${found.length}" IncludesLastItemInRange="true">${found.map((e) => resolution(e, full)).join('')}</m:ResolutionSet>`;
  const head =
    found.length === 1
      ? `<${tag} ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>`
      : `<${tag} ResponseClass="Warning">${buildErrorMessageFields(withText({ code: 'ErrorNameResolutionMultipleResults' }))}`;
  return wrapOrdinary('ResolveNames', `${head}${set}</${tag}>`);
}

export function buildResolveNamesError(spec: ResponseErrorSpec): string {
  const tag = 'm:ResolveNamesResponseMessage';
  return wrapOrdinary('ResolveNames', `<${tag} ResponseClass="Error">${buildErrorMessageFields(withText(spec))}</${tag}>`);
}

/** A scripted { error }: one error message per source id (ConvertId), or one (ResolveNames). */
export function buildIdentityOperationError(payload: IdentityPayload, spec: ResponseErrorSpec): string {
  if (payload.kind === 'ResolveNames') return buildResolveNamesError(spec);
  return buildConvertIdResponse(payload.sources.map(() => ({ error: spec })));
}

export function isIdentityPayload(payload: { kind: string }): payload is IdentityPayload {
  return payload.kind === 'ConvertId' || payload.kind === 'ResolveNames';
}

/** What a server without the operation answers: the simulator's usual fault for operations it does not serve. */
function unsupported(ctx: SimContext, call: OperationCall): void {
  reply(call.req, call.res, ctx.replyOptions, 500, buildFault({ code: 'ErrorInvalidRequest', message: `This server does not implement ${call.request.operation}.` }));
}

/** The directory entry of the mailbox's owner: a display name from the address, the account from the sign-in name. */
export function ownerEntry(address: string, user: string): DirectoryEntry {
  const local = address.slice(0, address.indexOf('@'));
  const name = local.split(/[._-]+/).filter(Boolean).map((w) => w[0]!.toUpperCase() + w.slice(1)).join(' ') || local;
  const account = user.includes('\\') ? user.slice(user.indexOf('\\') + 1) : user.includes('@') ? user.slice(0, user.indexOf('@')) : user;
  return { name, address, account };
}
