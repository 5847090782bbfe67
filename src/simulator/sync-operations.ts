// SyncFolderItems and SyncFolderHierarchy over the simulated mailbox (protocol-notes.md §6): opaque states from
// sync-state.ts, net changes and paging from sync-engine.ts, items and folders written per shape by item-xml.ts.

import { reply } from './http-reply.js';
import { renderFolder, renderItem } from './item-xml.js';
import type { FolderSyncEntry } from './mailbox.js';
import type { ResponseShape } from './mailbox-request-decoder.js';
import { buildSyncError, buildSyncResponse } from './mailbox-responses.js';
import { resolveRequestedFolder, type OperationCall, type SimContext } from './operations.js';
import type { RequestPayload } from './request-decoder.js';
import { syncHierarchy, syncItemsPage, type FolderChange, type ItemChange } from './sync-engine.js';
import { decodeSyncState, encodeSyncState, type SyncState } from './sync-state.js';
import type { SimFolder } from './types.js';
import { escapeAttr } from './xml-text.js';

type Payload<K extends RequestPayload['kind']> = Extract<RequestPayload, { kind: K }>;
type SyncOperation = 'SyncFolderItems' | 'SyncFolderHierarchy';

function fail(ctx: SimContext, call: OperationCall, operation: SyncOperation, code: string): void {
  reply(call.req, call.res, ctx.replyOptions, 200, buildSyncError(operation, { code }));
}

/** The folder to sync, or the code to answer; a folder that does not exist is ErrorSyncFolderNotFound here. */
function syncFolder(ctx: SimContext, folder: Payload<'SyncFolderItems'>['folder']): string | { code: string } {
  const resolved = resolveRequestedFolder(ctx.mailbox, folder);
  return typeof resolved !== 'string' && resolved.code === 'ErrorFolderNotFound' ? { code: 'ErrorSyncFolderNotFound' } : resolved;
}

/** The decoded state, undefined for a full sync, or null when the text is not a state of this kind. */
function readState(ctx: SimContext, kind: SyncState['kind'], text: string | undefined): SyncState | undefined | null {
  if (text === undefined) return undefined;
  return decodeSyncState(ctx.mailbox, kind, text) ?? null;
}

function itemChangeXml(change: ItemChange, folder: SimFolder | undefined, shape: ResponseShape, mailbox: string): string {
  if ('item' in change) return `<t:${change.type}>${renderItem(change.item, folder, shape, mailbox)}</t:${change.type}>`;
  const id = `<t:ItemId Id="${escapeAttr(change.id)}" ChangeKey="${escapeAttr(change.changeKey)}"/>`;
  if (change.type === 'Delete') return `<t:Delete>${id}</t:Delete>`;
  return `<t:ReadFlagChange>${id}<t:IsRead>${change.isRead}</t:IsRead></t:ReadFlagChange>`;
}

export function handleSyncFolderItems(ctx: SimContext, call: OperationCall, payload: Payload<'SyncFolderItems'>): void {
  const folderId = syncFolder(ctx, payload.folder);
  if (typeof folderId !== 'string') return fail(ctx, call, 'SyncFolderItems', folderId.code);
  const state = readState(ctx, 'items', payload.syncState);
  const view = ctx.mailbox.itemSyncView(folderId);
  const page = state === null || !view ? undefined : syncItemsPage(view, state, payload.maxChanges, new Set([...payload.ignore, ...ctx.lostItems]));
  // [ews] a state from another folder, the hierarchy, or garbage: ErrorInvalidSyncStateData with an empty SyncState (§6.1)
  if (!page) return fail(ctx, call, 'SyncFolderItems', 'ErrorInvalidSyncStateData');
  const folder = ctx.mailbox.folder(folderId);
  const changes = page.changes.map((c) => itemChangeXml(c, folder, payload.shape, ctx.mailbox.address));
  ctx.log(`sync items ${folder?.displayName ?? '?'}: ${changes.length} change(s), last=${page.includesLast}`);
  reply(call.req, call.res, ctx.replyOptions, 200, buildSyncResponse('SyncFolderItems', encodeSyncState(ctx.mailbox, page.state), page.includesLast, changes));
}

function folderChangeXml(change: FolderChange, live: ReadonlyMap<string, FolderSyncEntry>, shape: ResponseShape): string {
  if (change.type === 'Delete') return `<t:Delete><t:FolderId Id="${escapeAttr(change.id)}" ChangeKey="${escapeAttr(change.changeKey)}"/></t:Delete>`;
  const { folder } = change;
  const parent = folder.parentId ? live.get(folder.parentId)?.folder : undefined;
  const children = [...live.values()].filter((e) => e.folder.parentId === folder.id).length;
  return `<t:${change.type}>${renderFolder(folder, parent, children, shape)}</t:${change.type}>`;
}

export function handleSyncFolderHierarchy(ctx: SimContext, call: OperationCall, payload: Payload<'SyncFolderHierarchy'>): void {
  // Without SyncFolderId the IPM subtree (msgfolderroot) is synced: what a mail client shows. UNCONFIRMED for Exchange.
  const rootId = payload.folder ? syncFolder(ctx, payload.folder) : ctx.mailbox.folder('msgfolderroot')!.id;
  if (typeof rootId !== 'string') return fail(ctx, call, 'SyncFolderHierarchy', rootId.code);
  const state = readState(ctx, 'folders', payload.syncState);
  const view = ctx.mailbox.hierarchySyncView();
  const root = ctx.mailbox.folderNumber(rootId);
  const result = state === null || root === undefined ? undefined : syncHierarchy(view, root, state);
  if (!result) return fail(ctx, call, 'SyncFolderHierarchy', 'ErrorInvalidSyncStateData');
  const live = new Map(view.live.map((e) => [e.folder.id, e]));
  const changes = result.changes.map((c) => folderChangeXml(c, live, payload.shape));
  ctx.log(`sync hierarchy: ${changes.length} change(s)`);
  reply(call.req, call.res, ctx.replyOptions, 200, buildSyncResponse('SyncFolderHierarchy', encodeSyncState(ctx.mailbox, result.state), true, changes));
}
