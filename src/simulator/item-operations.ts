// GetItem and GetFolder over the simulated mailbox (protocol-notes.md §8): one response message per requested id,
// in request order; an id that cannot be served fails alone (ResponseClass="Error") while the rest succeed.

import { reply } from './http-reply.js';
import { renderFolder, renderItem } from './item-xml.js';
import type { RequestedItem, ResponseShape } from './mailbox-request-decoder.js';
import { buildGetFolderResponse, buildGetItemResponse, type PerIdResult } from './mailbox-responses.js';
import { looksLikeId, resolveRequestedFolder, type OperationCall, type SimContext } from './operations.js';
import type { RequestedFolder, RequestPayload } from './request-decoder.js';

type Payload<K extends RequestPayload['kind']> = Extract<RequestPayload, { kind: K }>;

function getOne(ctx: SimContext, requested: RequestedItem, shape: ResponseShape): PerIdResult {
  // Occurrence ids name calendar occurrences; this mailbox holds messages only.
  if (requested.kind !== 'id') return { error: { code: 'ErrorItemNotFound' } };
  if (!looksLikeId(requested.id)) return { error: { code: 'ErrorInvalidIdMalformed' } };
  // [ews] GetItem ignores a stale ChangeKey: it serves the current version (ChangeKey matters for updates only)
  const item = ctx.mailbox.item(requested.id);
  if (!item) return { error: { code: 'ErrorItemNotFound' } };
  return { ok: renderItem(item, ctx.mailbox.folder(item.folderId), shape, ctx.mailbox.address) };
}

export function handleGetItem(ctx: SimContext, call: OperationCall, payload: Payload<'GetItem'>): void {
  const results = payload.items.map((requested) => getOne(ctx, requested, payload.shape));
  ctx.log(`get item: ${results.filter((r) => 'ok' in r).length}/${results.length} found`);
  reply(call.req, call.res, ctx.replyOptions, 200, buildGetItemResponse(results));
}

function getFolder(ctx: SimContext, requested: RequestedFolder, shape: ResponseShape): PerIdResult {
  const id = resolveRequestedFolder(ctx.mailbox, requested);
  if (typeof id !== 'string') return { error: { code: id.code } };
  const all = ctx.mailbox.folders();
  const folder = all.find((f) => f.id === id)!;
  const parent = folder.parentId === undefined ? undefined : all.find((f) => f.id === folder.parentId);
  const children = all.filter((f) => f.parentId === id).length;
  return { ok: renderFolder(folder, parent, children, shape) };
}

export function handleGetFolder(ctx: SimContext, call: OperationCall, payload: Payload<'GetFolder'>): void {
  const results = payload.folders.map((requested) => getFolder(ctx, requested, payload.shape));
  reply(call.req, call.res, ctx.replyOptions, 200, buildGetFolderResponse(results));
}
