// Test-side requests for the simulator's mailbox-reading operations (hand-written XML, as a client would send)
// and a small reader for their answers. Independent of src/ews on purpose.

import type { Simulator } from '../../src/simulator/index.js';
import { elementsOf, post, soap, type ElementInfo } from './helpers.js';

/** A distinguished folder name (inbox, …) or, when longer than 40 characters, a FolderId. */
function folderRef(folder: string): string {
  return folder.length > 40 ? `<t:FolderId Id="${folder}"/>` : `<t:DistinguishedFolderId Id="${folder}"/>`;
}

function shapeXml(element: 'ItemShape' | 'FolderShape', base: string, fields: readonly string[]): string {
  const extra = fields.length ? `<t:AdditionalProperties>${fields.map((f) => `<t:FieldURI FieldURI="${f}"/>`).join('')}</t:AdditionalProperties>` : '';
  return `<m:${element}><t:BaseShape>${base}</t:BaseShape>${extra}</m:${element}>`;
}

export interface SyncItemsOptions {
  folder?: string;
  state?: string;
  max?: number | string;
  base?: string;
  fields?: readonly string[];
  ignore?: readonly string[];
}

export function syncItemsBody(o: SyncItemsOptions = {}): string {
  const ignore = o.ignore?.length ? `<m:Ignore>${o.ignore.map((id) => `<t:ItemId Id="${id}"/>`).join('')}</m:Ignore>` : '';
  return soap(
    `<m:SyncFolderItems>${shapeXml('ItemShape', o.base ?? 'IdOnly', o.fields ?? [])}<m:SyncFolderId>${folderRef(o.folder ?? 'inbox')}</m:SyncFolderId>` +
      `${o.state !== undefined ? `<m:SyncState>${o.state}</m:SyncState>` : ''}${ignore}<m:MaxChangesReturned>${o.max ?? 512}</m:MaxChangesReturned>` +
      '<m:SyncScope>NormalItems</m:SyncScope></m:SyncFolderItems>',
  );
}

export function syncHierarchyBody(o: { folder?: string; state?: string; base?: string; fields?: readonly string[] } = {}): string {
  return soap(
    `<m:SyncFolderHierarchy>${shapeXml('FolderShape', o.base ?? 'IdOnly', o.fields ?? [])}` +
      `${o.folder ? `<m:SyncFolderId>${folderRef(o.folder)}</m:SyncFolderId>` : ''}${o.state !== undefined ? `<m:SyncState>${o.state}</m:SyncState>` : ''}</m:SyncFolderHierarchy>`,
  );
}

export function getItemBody(ids: readonly string[], fields: readonly string[] = [], base = 'IdOnly'): string {
  return soap(`<m:GetItem>${shapeXml('ItemShape', base, fields)}<m:ItemIds>${ids.map((id) => `<t:ItemId Id="${id}"/>`).join('')}</m:ItemIds></m:GetItem>`);
}

export function getFolderBody(folders: readonly string[], base = 'Default', fields: readonly string[] = []): string {
  return soap(`<m:GetFolder>${shapeXml('FolderShape', base, fields)}<m:FolderIds>${folders.map(folderRef).join('')}</m:FolderIds></m:GetFolder>`);
}

/** One change, or one returned item/folder, as the tests compare them. */
export interface Entry {
  /** Create, Update, Delete, ReadFlagChange; or the item/folder element (Message, Folder, …) in Get answers. */
  type: string;
  /** The item or folder element (Message, Folder, CalendarFolder, …); absent for Delete and ReadFlagChange. */
  element?: string;
  id: string;
  changeKey: string;
  /** Text of each property element below the item/folder, by its path from there (Subject, From/Mailbox/Name, IsRead). */
  props: Record<string, string>;
}

export interface Message {
  responseClass: string;
  code: string;
  entries: Entry[];
  backOffMs?: number;
}

export interface Answer {
  status: number;
  body: string;
  messages: Message[];
  syncState?: string;
  last?: boolean;
}

const IDS = ['ItemId', 'FolderId'];

/** Groups the elements below `container` (Changes, Items or Folders) into entries. */
function entriesOf(inside: ElementInfo[], container: string): Entry[] {
  const entries: Entry[] = [];
  for (const e of inside) {
    const depth = e.path.lastIndexOf(container);
    if (depth < 0 || e.path.length < depth + 2) continue;
    if (e.path.length === depth + 2) {
      entries.push({ type: e.local, ...(container === 'Changes' ? {} : { element: e.local }), id: '', changeKey: '', props: {} });
      continue;
    }
    const entry = entries[entries.length - 1]!;
    let rel = e.path.slice(depth + 2);
    if (container === 'Changes' && rel.length === 1 && !IDS.includes(e.local) && e.local !== 'IsRead') entry.element = e.local;
    if (container === 'Changes' && rel[0] === entry.element) rel = rel.slice(1);
    if (rel.length === 1 && IDS.includes(e.local) && entry.id === '') {
      entry.id = e.attrs.Id ?? '';
      entry.changeKey = e.attrs.ChangeKey ?? '';
    }
    const key = rel.join('/');
    if (key !== '' && !(key in entry.props)) entry.props[key] = e.local === 'ParentFolderId' ? e.attrs.Id ?? '' : e.text;
  }
  return entries;
}

export function readAnswer(status: number, body: string): Answer {
  const all = elementsOf(body);
  const groups: Array<{ head: ElementInfo; inside: ElementInfo[] }> = [];
  for (const e of all) {
    if (e.path.at(-2) === 'ResponseMessages') groups.push({ head: e, inside: [] });
    else if (groups.length > 0 && e.path.includes(groups[groups.length - 1]!.head.local)) groups[groups.length - 1]!.inside.push(e);
  }
  const messages = groups.map(({ head, inside }): Message => {
    const backOff = inside.find((e) => e.local === 'Value' && e.attrs.Name === 'BackOffMilliseconds');
    const container = ['Changes', 'Items', 'Folders'].find((c) => inside.some((e) => e.local === c)) ?? 'Changes';
    return {
      responseClass: head.attrs.ResponseClass ?? '',
      code: inside.find((e) => e.local === 'ResponseCode')?.text ?? '',
      entries: entriesOf(inside, container),
      ...(backOff ? { backOffMs: Number(backOff.text) } : {}),
    };
  });
  const state = all.find((e) => e.local === 'SyncState');
  const last = all.find((e) => e.local === 'IncludesLastItemInRange' || e.local === 'IncludesLastFolderInRange');
  return { status, body, messages, ...(state ? { syncState: state.text } : {}), ...(last ? { last: last.text === 'true' } : {}) };
}

export async function call(sim: Simulator, body: string): Promise<Answer> {
  const answer = await post(sim, body);
  return readAnswer(answer.status, answer.body);
}

export async function syncItems(sim: Simulator, o: SyncItemsOptions = {}): Promise<Answer> {
  return call(sim, syncItemsBody(o));
}

/** Pages until IncludesLastItemInRange; returns every page. */
export async function syncAll(sim: Simulator, o: SyncItemsOptions = {}): Promise<Answer[]> {
  const pages: Answer[] = [];
  let state = o.state;
  for (let i = 0; i < 1000; i++) {
    const page = await syncItems(sim, { ...o, ...(state !== undefined ? { state } : {}) });
    pages.push(page);
    if (page.messages[0]?.responseClass !== 'Success' || page.last) return pages;
    state = page.syncState;
  }
  throw new Error('sync did not finish');
}

/** "Type:id" of each change of the (single) response message. */
export const kinds = (a: Answer): string[] => a.messages[0]!.entries.map((e) => `${e.type}:${e.id}`);

export { seededRandom as prng } from '../support/random.js';
