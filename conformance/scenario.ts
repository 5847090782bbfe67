// The conformance scenario: a seeded plan of about 40 changes (drafts created, read and unread, flagged, renamed,
// moved out, in and across, copied, hard- and soft-deleted, moved to Deleted Items; subfolders created and
// deleted) made with the real EWS write calls in a scratch tree, and the truth the verdict needs about each.
// No processes here: harness.ts runs the watchers around it.

import type { MailboxWriter } from '../src/ews/writes.js';
import type { Truth } from './verdict.js';

export const OP_KINDS = [
  'create',
  'unread',
  'read',
  'flag',
  'subject',
  'move-out',
  'move-in',
  'move-across',
  'copy',
  'hard-delete',
  'soft-delete',
  'to-deleted-items',
  'folder-create',
  'folder-delete',
] as const;
export type OpKind = (typeof OP_KINDS)[number];

/** The scratch tree: two watched folders and one that is not watched, under one root named for the run. */
export interface ScratchTree {
  root: string;
  watched: [string, string];
  elsewhere: string;
}

/** What one call did and how long it took; `expect` is the change the watchers should print for it. */
export interface OpRecord {
  kind: OpKind;
  /** When the call was sent and how long its answer took (ms). */
  at: number;
  callMs: number;
  error?: string;
  /** The raw answer of a call that failed, as the transport read it (bounded, redacted). */
  raw?: string;
  expect?: { change: 'create' | 'modify' | 'delete'; id: string } | { change: 'folder-create' | 'folder-delete'; id: string };
}

interface LiveItem {
  folder: string;
  changeKey?: string;
  read: boolean;
  /** Modified once already (the verdict follows one modification per item, as the chaos test does). */
  modified: boolean;
}

/** The driver's model: the truth per item id, what lives where, and every id it ever held. */
export interface ScenarioState {
  truth: Map<string, Truth>;
  known: Set<string>;
  knownFolders: Set<string>;
  items: Map<string, LiveItem>;
  subfolders: string[];
  records: OpRecord[];
  /** Items sent to Deleted Items (their new ids are not returned: cleanup finds them by subject). */
  toDeletedItems: number;
}

export function createState(tree: ScratchTree): ScenarioState {
  return {
    truth: new Map(),
    known: new Set(),
    knownFolders: new Set([tree.root, ...tree.watched, tree.elsewhere]),
    items: new Map(),
    subfolders: [],
    records: [],
    toDeletedItems: 0,
  };
}

/** The plan: 4 creates, then every other kind twice and creates to fill up to `changes`, shuffled. */
export function planScenario(changes: number, random: () => number): OpKind[] {
  const core: OpKind[] = OP_KINDS.filter((k) => k !== 'create').flatMap((k) => [k, k]);
  const tail: OpKind[] = [...core];
  while (tail.length < changes - 4) tail.push(random() < 0.6 ? 'create' : OP_KINDS[Math.floor(random() * OP_KINDS.length)]!);
  for (let i = tail.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [tail[i], tail[j]] = [tail[j]!, tail[i]!];
  }
  return [...Array<OpKind>(4).fill('create'), ...tail].slice(0, Math.max(changes, 4));
}

export interface Driver {
  writer: MailboxWriter;
  tree: ScratchTree;
  state: ScenarioState;
  random: () => number;
  now: () => number;
  /** The subject prefix that marks this run's drafts (cleanup finds them in Deleted Items by it). */
  subject: string;
  /** The raw answer of the call that just failed, if the transport kept it. */
  lastRaw(): string | undefined;
  signal?: AbortSignal;
}

const watchedItems = (d: Driver, ok: (i: LiveItem) => boolean = () => true): string[] =>
  [...d.state.items].filter(([, i]) => d.tree.watched.includes(i.folder) && ok(i)).map(([id]) => id);

function pick<T>(d: Driver, xs: readonly T[]): T | undefined {
  return xs.length ? xs[Math.floor(d.random() * xs.length)] : undefined;
}

/** Drafts made before the first watcher starts: the baseline in the watched folders, and a stock elsewhere. */
export async function seed(d: Driver, watched: number, elsewhere: number): Promise<void> {
  for (let i = 0; i < watched + elsewhere; i += 1) {
    const folder = i < watched ? d.tree.watched[i % 2]! : d.tree.elsewhere;
    const id = await d.writer.createDraft(folder, { subject: `${d.subject} baseline ${i}` }, d.signal);
    d.state.items.set(id.id, { folder, changeKey: id.changeKey, read: true, modified: false });
    d.state.known.add(id.id);
    if (i < watched) d.state.truth.set(id.id, {});
  }
}

/** Runs one planned change (another kind when nothing fits it, a create at worst) and records it. */
export async function step(d: Driver, planned: OpKind, index: number): Promise<OpRecord> {
  const kinds: OpKind[] = [planned, 'create'];
  for (const kind of kinds) {
    const run = prepare(d, kind, index);
    if (!run) continue;
    const record: OpRecord = { kind, at: d.now(), callMs: 0 };
    try {
      const expect = await run();
      record.callMs = d.now() - record.at;
      if (expect) record.expect = expect;
    } catch (err) {
      if (d.signal?.aborted) throw err;
      record.callMs = d.now() - record.at;
      record.error = err instanceof Error ? err.message : String(err);
      const raw = d.lastRaw();
      if (raw !== undefined) record.raw = raw;
    }
    d.state.records.push(record);
    return record;
  }
  throw new Error('unreachable: a create always fits');
}

type Run = () => Promise<OpRecord['expect']>;

// Each kind: undefined when no item or folder fits it now; else the call and what it changes in the model.
function prepare(d: Driver, kind: OpKind, index: number): Run | undefined {
  const { state, tree, writer, signal } = d;
  const other = (folder: string): string => (folder === tree.watched[0] ? tree.watched[1] : tree.watched[0]);
  const gone = (id: string): void => {
    state.items.delete(id);
    const t = state.truth.get(id);
    if (t) t.goneAt = d.now();
  };
  const arrived = (id: { id: string; changeKey?: string }, folder: string, read: boolean, at: number): void => {
    state.items.set(id.id, { folder, changeKey: id.changeKey, read, modified: false });
    state.known.add(id.id);
    if (tree.watched.includes(folder)) state.truth.set(id.id, { createdAt: at });
  };
  const modify = (pickFrom: string[], change: Parameters<MailboxWriter['updateItem']>[1], read?: boolean): Run | undefined => {
    const id = pick(d, pickFrom);
    if (!id) return undefined;
    return async () => {
      const item = state.items.get(id)!;
      const at = d.now();
      const after = await writer.updateItem({ id, changeKey: item.changeKey }, change, signal);
      Object.assign(item, { changeKey: after.changeKey, modified: true, ...(read === undefined ? {} : { read }) });
      Object.assign(state.truth.get(id)!, { modifiedAt: at, modifiedKey: after.changeKey });
      return { change: 'modify', id };
    };
  };
  const unmodified = (extra: (i: LiveItem) => boolean = () => true) => watchedItems(d, (i) => !i.modified && extra(i));
  switch (kind) {
    case 'create':
      return async () => {
        const folder = tree.watched[index % 2]!;
        const at = d.now();
        const id = await writer.createDraft(folder, { subject: `${d.subject} draft ${index}`, body: `Made by npm run conformance (change ${index}).` }, signal);
        arrived(id, folder, true, at);
        return { change: 'create', id: id.id };
      };
    case 'unread':
      return modify(unmodified((i) => i.read), { isRead: false }, false);
    case 'read':
      return modify(unmodified((i) => !i.read), { isRead: true }, true);
    case 'flag':
      return modify(unmodified(), { flag: d.random() < 0.7 ? 'Flagged' : 'Complete' });
    case 'subject':
      return modify(unmodified(), { subject: `${d.subject} renamed ${index}` });
    case 'move-out':
    case 'move-across':
    case 'copy':
    case 'hard-delete':
    case 'soft-delete':
    case 'to-deleted-items': {
      const id = pick(d, watchedItems(d));
      return id === undefined ? undefined : leave(d, kind, id, { gone, arrived, other });
    }
    case 'move-in': {
      const id = pick(d, [...state.items].filter(([, i]) => i.folder === tree.elsewhere).map(([x]) => x));
      if (!id) return undefined;
      return async () => {
        const to = tree.watched[index % 2]!;
        const at = d.now();
        const moved = await writer.moveItem(id, to, signal);
        const read = state.items.get(id)!.read;
        state.items.delete(id);
        arrived(moved, to, read, at);
        return { change: 'create', id: moved.id };
      };
    }
    case 'folder-create':
      return async () => {
        const folder = await writer.createFolder({ kind: 'id', id: tree.watched[0] }, `subfolder ${index}`, signal);
        state.subfolders.push(folder.id);
        state.knownFolders.add(folder.id);
        return { change: 'folder-create', id: folder.id };
      };
    case 'folder-delete': {
      const folder = pick(d, state.subfolders);
      if (!folder) return undefined;
      return async () => {
        await writer.deleteFolder(folder, 'HardDelete', signal);
        state.subfolders.splice(state.subfolders.indexOf(folder), 1);
        return { change: 'folder-delete', id: folder };
      };
    }
  }
}

interface Moves {
  gone(id: string): void;
  arrived(id: { id: string; changeKey?: string }, folder: string, read: boolean, at: number): void;
  other(folder: string): string;
}

// The changes that take an item out of where it is (and, for a move or copy, put one somewhere).
function leave(d: Driver, kind: OpKind, id: string, m: Moves): Run {
  const { writer, tree, signal, state } = d;
  const item = state.items.get(id)!;
  return async () => {
    const at = d.now();
    if (kind === 'copy') {
      const to = m.other(item.folder);
      const copy = await writer.copyItem(id, to, signal);
      m.arrived(copy, to, item.read, at);
      return { change: 'create', id: copy.id };
    }
    if (kind === 'move-out' || kind === 'move-across') {
      const to = kind === 'move-out' ? tree.elsewhere : m.other(item.folder);
      const moved = await writer.moveItem(id, to, signal);
      m.gone(id);
      m.arrived(moved, to, item.read, at);
      return { change: 'delete', id };
    }
    const mode = kind === 'hard-delete' ? 'HardDelete' : kind === 'soft-delete' ? 'SoftDelete' : 'MoveToDeletedItems';
    await writer.deleteItem(id, mode, signal);
    if (mode === 'MoveToDeletedItems') state.toDeletedItems += 1;
    m.gone(id);
    return { change: 'delete', id };
  };
}
