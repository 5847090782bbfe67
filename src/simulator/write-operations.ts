// The mailbox-changing operations over the simulated mailbox: CreateFolder, DeleteFolder, FindFolder, CreateItem
// (drafts: SaveOnly), UpdateItem (Subject, IsRead, Flag / PidTagFlagStatus), MoveItem, CopyItem and DeleteItem. One
// response message per object, in request order; an object that cannot be served fails alone with Exchange's code.
// Every change goes through the mailbox and the subscriptions, as test-driven changes do, so streams and syncs see it.

import { reply } from './http-reply.js';
import { renderFolder } from './item-xml.js';
import type { RequestedItem } from './mailbox-request-decoder.js';
import { looksLikeId, resolveRequestedFolder, type OperationCall, type SimContext } from './operations.js';
import type { RequestPayload } from './request-decoder.js';
import type { FlagStatus, ItemUpdate, MailboxChange, SimEvent, SimItem } from './types.js';
import type { ItemFieldUpdate, SentObject } from './write-request-decoder.js';
import { buildFindFolderResponse, buildWriteResponse, folderIdXml, itemIdXml, type FindFolderResult, type WriteResult } from './write-responses.js';

type Payload<K extends RequestPayload['kind']> = Extract<RequestPayload, { kind: K }>;
const fail = (code: string, message?: string): WriteResult => ({ error: message ? { code, message } : { code } });

function findItem(ctx: SimContext, requested: RequestedItem): SimItem | WriteResult {
  // Occurrence ids name calendar occurrences; this mailbox holds messages only.
  if (requested.kind !== 'id') return fail('ErrorItemNotFound');
  if (!looksLikeId(requested.id)) return fail('ErrorInvalidIdMalformed');
  return ctx.mailbox.item(requested.id) ?? fail('ErrorItemNotFound');
}

const isResult = (x: SimItem | WriteResult): x is WriteResult => 'ok' in x || 'error' in x;

function answer(ctx: SimContext, call: OperationCall, operation: Parameters<typeof buildWriteResponse>[0], results: WriteResult[]): void {
  ctx.log(`${operation}: ${results.filter((r) => 'ok' in r).length}/${results.length} done`);
  reply(call.req, call.res, ctx.replyOptions, 200, buildWriteResponse(operation, results));
}

export function handleCreateFolder(ctx: SimContext, call: OperationCall, payload: Payload<'CreateFolder'>): void {
  const parent = resolveRequestedFolder(ctx.mailbox, payload.parent);
  const results = payload.folders.map((sent): WriteResult => {
    if (typeof parent !== 'string') return fail(parent.code === 'ErrorFolderNotFound' ? 'ErrorParentFolderNotFound' : parent.code);
    if (sent.element !== 'Folder') return fail('ErrorInvalidFolderTypeForOperation', 'The simulator creates mail folders (t:Folder) only.');
    const name = sent.props.get('DisplayName')?.text ?? '';
    if (name.trim() === '') return fail('ErrorRequiredPropertyMissing', 'A folder needs a DisplayName.');
    // [ews] one name once per parent, case-insensitively: ErrorFolderExists
    const clash = ctx.mailbox.folders().some((f) => f.parentId === parent && f.displayName.toLowerCase() === name.toLowerCase());
    if (clash) return fail('ErrorFolderExists');
    const change = ctx.mailbox.createFolder(name, parent);
    ctx.deliver(change);
    return { ok: folderIdXml(change.folder!) };
  });
  answer(ctx, call, 'CreateFolder', results);
}

export function handleDeleteFolder(ctx: SimContext, call: OperationCall, payload: Payload<'DeleteFolder'>): void {
  const results = payload.folders.map((requested): WriteResult => {
    const id = resolveRequestedFolder(ctx.mailbox, requested);
    if (typeof id !== 'string') return fail(id.code);
    const folder = ctx.mailbox.folder(id)!;
    if (folder.distinguished || folder.parentId === undefined) return fail('ErrorDeleteDistinguishedFolder');
    // [ews] MoveToDeletedItems moves the folder (and all below it) into Deleted Items; the others remove it.
    const inDeleted = ctx.mailbox.folder('deleteditems')!;
    if (payload.deleteType === 'MoveToDeletedItems' && folder.parentId !== inDeleted.id) {
      const clash = ctx.mailbox.folders().some((f) => f.parentId === inDeleted.id && f.displayName.toLowerCase() === folder.displayName.toLowerCase());
      if (clash) return fail('ErrorFolderExists');
      ctx.deliver(ctx.mailbox.moveFolder(id, inDeleted.id));
    } else {
      ctx.deliver(ctx.mailbox.deleteFolder(id));
    }
    return { ok: '' };
  });
  answer(ctx, call, 'DeleteFolder', results);
}

export function handleFindFolder(ctx: SimContext, call: OperationCall, payload: Payload<'FindFolder'>): void {
  const all = ctx.mailbox.folders();
  const results = payload.parents.map((requested): FindFolderResult | { error: { code: string } } => {
    const id = resolveRequestedFolder(ctx.mailbox, requested);
    if (typeof id !== 'string') return { error: { code: id.code } };
    const below = (parentId: string): typeof all => all.filter((f) => f.parentId === parentId).flatMap((f) => [f, ...(payload.traversal === 'Deep' ? below(f.id) : [])]);
    // SoftDeleted lists folders in the dumpster: none here.
    const found = payload.traversal === 'SoftDeleted' ? [] : below(id);
    const start = payload.fromEnd ? Math.max(0, found.length - payload.offset - (payload.maxEntries ?? found.length)) : payload.offset;
    const page = found.slice(start, payload.maxEntries === undefined ? undefined : start + payload.maxEntries);
    const rendered = page.map((f) => renderFolder(f, all.find((p) => p.id === f.parentId), all.filter((c) => c.parentId === f.id).length, payload.shape));
    return { folders: rendered, offset: start, total: found.length };
  });
  reply(call.req, call.res, ctx.replyOptions, 200, buildFindFolderResponse(results));
}

export function handleCreateItem(ctx: SimContext, call: OperationCall, payload: Payload<'CreateItem'>): void {
  // [ews] SaveOnly without SavedItemFolderId saves in Drafts.
  const folder = payload.savedIn ? resolveRequestedFolder(ctx.mailbox, payload.savedIn) : ctx.mailbox.folder('drafts')!.id;
  const results = payload.items.map((sent): WriteResult => {
    if (sent.element !== 'Message') return fail('ErrorInvalidItemForOperationCreateItem', 'The simulator creates messages (t:Message) only.');
    // [ews] a message needs MessageDisposition (ErrorMessageDispositionRequired); this mailbox sends nothing.
    if (payload.disposition === undefined) return fail('ErrorMessageDispositionRequired');
    if (payload.disposition !== 'SaveOnly') return fail('ErrorInvalidRequest', 'The simulator saves messages only (MessageDisposition="SaveOnly").');
    if (typeof folder !== 'string') return fail(folder.code);
    const change = ctx.mailbox.saveDraft(folder, { subject: sent.props.get('Subject')?.text ?? '', ...bodyOf(sent) });
    ctx.deliver(change);
    return { ok: itemIdXml(change.item!.id, change.item!.changeKey) };
  });
  answer(ctx, call, 'CreateItem', results);
}

function bodyOf(sent: SentObject): { body?: string } {
  const body = sent.props.get('Body');
  return body ? { body: body.text } : {};
}

type Edit = { isRead: boolean } | { update: ItemUpdate } | { error: WriteResult };

/** PidTagFlagStatus ([MS-OXOFLAG] 2.2.1.1): 1 complete, 2 flagged; removing it clears the flag. */
const FLAG_BY_TAG: Record<string, FlagStatus> = { '1': 'Complete', '2': 'Flagged' };
const FLAG_TAG = 'tag:0x1090:Integer';

/** What one change description asks for, or the error Exchange gives for it. */
function readEdit(u: ItemFieldUpdate): Edit {
  if (u.op === 'AppendToItemField') return { error: fail('ErrorInvalidPropertyAppend') };
  if (u.op === 'DeleteItemField') {
    if (u.path === 'item:Flag' || u.path === FLAG_TAG) return { update: { flag: 'NotFlagged' } };
    return { error: fail('ErrorInvalidPropertyDelete') };
  }
  // [ews] a SetItemField carries exactly one property, the one its path names
  const props = [...u.item!.props.values()];
  if (props.length !== 1) return { error: fail('ErrorIncorrectUpdatePropertyCount') };
  const prop = props[0]!;
  const expected: Record<string, string> = { 'item:Subject': 'Subject', 'message:IsRead': 'IsRead', 'item:Flag': 'Flag', [FLAG_TAG]: 'ExtendedProperty' };
  if (expected[u.path] === undefined) return { error: fail('ErrorInvalidPropertySet', 'The simulator sets Subject, IsRead, Flag and PidTagFlagStatus (0x1090) only.') };
  if (prop.local !== expected[u.path]) return { error: fail('ErrorUpdatePropertyMismatch') };
  if (u.path === 'item:Subject') return { update: { subject: prop.text } };
  if (u.path === 'message:IsRead') {
    const v = prop.text.trim();
    return v === 'true' || v === '1' ? { isRead: true } : v === 'false' || v === '0' ? { isRead: false } : { error: fail('ErrorInvalidValueForProperty') };
  }
  if (u.path === 'item:Flag') {
    const status = prop.children.find((c) => c.local === 'FlagStatus')?.text.trim();
    return status === 'Flagged' || status === 'Complete' || status === 'NotFlagged' ? { update: { flag: status } } : { error: fail('ErrorInvalidValueForProperty') };
  }
  const value = prop.children.find((c) => c.local === 'Value')?.text.trim() ?? '';
  return FLAG_BY_TAG[value] ? { update: { flag: FLAG_BY_TAG[value]! } } : { error: fail('ErrorInvalidExtendedPropertyValue') };
}

function updateOne(ctx: SimContext, conflict: Payload<'UpdateItem'>['conflict'], requested: RequestedItem, updates: ItemFieldUpdate[]): WriteResult {
  const item = findItem(ctx, requested);
  if (isResult(item)) return item;
  // [ews] only AlwaysOverwrite applies changes over a newer version than the ChangeKey the client sent
  if (conflict !== 'AlwaysOverwrite' && requested.kind === 'id' && requested.changeKey !== undefined && requested.changeKey !== item.changeKey) {
    return fail('ErrorIrresolvableConflict');
  }
  let isRead: boolean | undefined;
  const update: ItemUpdate = {};
  for (const u of updates) {
    const edit = readEdit(u);
    if ('error' in edit) return edit.error;
    if ('isRead' in edit) isRead = edit.isRead;
    else Object.assign(update, edit.update);
  }
  const read = isRead === undefined ? undefined : ctx.mailbox.markRead(item.id, isRead);
  const modified = Object.keys(update).length === 0 ? undefined : ctx.mailbox.modifyItem(item.id, update);
  deliverUpdate(ctx, read, modified);
  const after = ctx.mailbox.item(item.id)!;
  return { ok: itemIdXml(after.id, after.changeKey) };
}

/** One update is one user action: one batch of events, the item's ModifiedEvent once. */
function deliverUpdate(ctx: SimContext, read: MailboxChange | undefined, modified: MailboxChange | undefined): void {
  if (read && !modified) return ctx.deliver(read, 'ModifiedEvent');
  if (!read) return modified && ctx.deliver(modified);
  const itemModified = (e: SimEvent) => e.kind === 'item' && e.type === 'ModifiedEvent';
  ctx.deliver({ events: [...modified!.events, ...read.events.filter((e) => !itemModified(e))] });
}

export function handleUpdateItem(ctx: SimContext, call: OperationCall, payload: Payload<'UpdateItem'>): void {
  const results = payload.changes.map((c) => updateOne(ctx, payload.conflict, c.item, c.updates));
  answer(ctx, call, 'UpdateItem', results);
}

export function handleMoveCopyItem(ctx: SimContext, call: OperationCall, payload: Payload<'MoveItem' | 'CopyItem'>): void {
  const target = resolveRequestedFolder(ctx.mailbox, payload.to);
  const results = payload.items.map((requested): WriteResult => {
    const item = findItem(ctx, requested);
    if (isResult(item)) return item;
    if (typeof target !== 'string') return fail(target.code);
    const change = payload.kind === 'MoveItem' ? ctx.mailbox.moveItem(item.id, target) : ctx.mailbox.copyItem(item.id, target);
    ctx.deliver(change, payload.kind === 'MoveItem' ? 'MovedEvent' : undefined);
    // [ews] Exchange 2010 SP1 and later return the new item's id (the id changes on a move and a copy)
    return { ok: itemIdXml(change.item!.id, change.item!.changeKey) };
  });
  answer(ctx, call, payload.kind, results);
}

export function handleDeleteItem(ctx: SimContext, call: OperationCall, payload: Payload<'DeleteItem'>): void {
  const results = payload.items.map((requested): WriteResult => {
    const item = findItem(ctx, requested);
    if (isResult(item)) return item;
    const hard = payload.deleteType === 'HardDelete';
    ctx.deliver(ctx.mailbox.deleteItem(item.id, { hard, soft: payload.deleteType === 'SoftDelete' }), hard ? undefined : 'MovedEvent');
    return { ok: '' };
  });
  answer(ctx, call, 'DeleteItem', results);
}
