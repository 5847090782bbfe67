// The verdict on a run of changes watched by ews-watch processes that were killed and restarted: what each change
// obliged the union of their outputs to print, and what was missed, printed twice, or printed about nothing the
// driver made (spurious). Shared by the chaos test (test/e2e/chaos.test.ts) and the conformance harness. Pure,
// except collectOutput, which reads a child's stdout and stderr.
//
// What "missed" means follows what Exchange can know (README, "Catching up"): a sync reports net changes, so an
// item created and removed while nobody printed it needs no line, and a modification folded into a Create or
// Delete that a catch-up printed after it needs none either. Notifications carry placeholder ChangeKeys: a change
// the stream did not report, to an item whose creation the stream printed, can be told from that line only by a
// ChangeKey the watcher learnt for the item afterwards (from the first sync that reports it, or GetItem with
// --details; -v says which). When the first one learnt is already the item's ChangeKey after the change, the
// change is folded into what was printed and needs no line (README, Limits).
//
// A change printed twice fails the run, with one documented exception (README, "Catching up" → Limits): a process
// killed with SIGKILL between printing a line and recording it in the ledger has the next process print that change
// again. Such a repeat is counted apart (killWindow) only when the test saw the first line at most KILL_WINDOW_MS
// before it sent the SIGKILL and a later process's catch-up printed the second; any other repeat is a duplicate.

import type { Readable } from 'node:stream';

/** What the driver did to one item id, in its own clock (ms). */
export interface Truth {
  /** undefined: in a watched folder before the first process started. */
  createdAt?: number;
  modifiedAt?: number;
  /** The item's ChangeKey right after that modification. */
  modifiedKey?: string;
  goneAt?: number;
}

/** A ChangeKey the watcher learnt for an item the stream printed (its -v line), when it was read. */
export interface Learnt {
  at: number;
  /** The item id's last 8 characters, as the line shows it. */
  suffix: string;
  changeKey: string;
}

export interface Line {
  at: number;
  /** Which process printed it (1, 2, …). */
  proc: number;
  rec: Record<string, unknown>;
}

/** What the processes printed and said, as collectOutput gathers it. */
export interface Output {
  lines: Line[];
  learnt: Learnt[];
  /** stderr lines other than -v's wire lines, with when and which process. */
  warnings: string[];
}

export function createOutput(): Output {
  return { lines: [], learnt: [], warnings: [] };
}

const LEARNT = /^ews-watch: catch-up: …(\S{8}) printed by the stream: ChangeKey (\S+) learnt(?: \(from [^)]+\))?$/;

/** Reads one process's --json stdout and -v stderr into `out`; `t0()` dates its warnings. */
export function collectOutput(child: { stdout: Readable; stderr: Readable }, proc: number, out: Output, t0: () => number | undefined, onStderrLine?: (line: string) => void): void {
  let buf = '';
  child.stdout.on('data', (d: string | Buffer) => {
    buf += String(d);
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    for (const p of parts) if (p) out.lines.push({ at: Date.now(), proc, rec: JSON.parse(p) as Record<string, unknown> });
  });
  let ebuf = '';
  child.stderr.on('data', (d: string | Buffer) => {
    ebuf += String(d);
    const parts = ebuf.split('\n');
    ebuf = parts.pop() ?? '';
    for (const p of parts) {
      onStderrLine?.(p);
      const m = LEARNT.exec(p);
      if (m) out.learnt.push({ at: Date.now(), suffix: m[1]!, changeKey: m[2]! });
      if (!/^ews-watch: [<>] [a-z-]+:/.test(p)) out.warnings.push(`${Date.now() - (t0() ?? Date.now())}ms p${proc}: ${p}`);
    }
  });
}

export interface VerdictInput {
  truth: ReadonlyMap<string, Truth>;
  output: Output;
  /** Ids in the watched folders at the end. */
  present: ReadonlySet<string>;
  /** Every item id the driver made or saw; a line about none of them (itemId or oldItemId) is spurious. */
  known: ReadonlySet<string>;
  /** Folder ids a folder line may be about (as folderId, oldFolderId or parentFolderId); omitted: folder lines are not judged. */
  knownFolders?: ReadonlySet<string>;
  t0: number;
  /** When the driver sent SIGKILL to a process (process number → ms); omitted: no repeat is excused. */
  kills?: ReadonlyMap<number, number>;
}

/** How close before a SIGKILL a printed line may have been seen for its repeat to count as the kill window's. */
export const KILL_WINDOW_MS = 100;

export interface Verdict {
  /** Changes that had to be reported. */
  obligations: number;
  /** Modifications not knowable (a streamed item changed before any ChangeKey was learnt). */
  unknowable: number;
  missed: string[];
  duplicated: string[];
  /** Changes printed twice because the process that printed them first was killed within KILL_WINDOW_MS after. */
  killWindow: string[];
  spurious: string[];
  /** Lines printed in all, and how many of them by a catch-up. */
  lines: number;
  fromCatchUp: number;
  /** The lines per change: `create:<id>`, `modify:<id>`, `delete:<id>`, `newmail:<id>`. */
  printed: Map<string, Line[]>;
}

/** What was printed, per item and kind of change (NewMail is an extra notice of a Created, not a change). */
export function printedChanges(lines: readonly Line[]): Map<string, Line[]> {
  const printed = new Map<string, Line[]>();
  const add = (kind: string, id: unknown, l: Line): void => {
    if (typeof id !== 'string') return;
    const k = `${kind}:${id}`;
    printed.set(k, [...(printed.get(k) ?? []), l]);
  };
  for (const l of lines) {
    const r = l.rec;
    if (r.itemId === undefined) continue;
    if (r.event === 'Created' || r.event === 'Copied' || r.event === 'Moved') add('create', r.itemId, l);
    if (r.event === 'Moved') add('delete', r.oldItemId, l);
    if (r.event === 'Modified') add('modify', r.itemId, l);
    if (r.event === 'Deleted') add('delete', r.itemId, l);
    if (r.event === 'NewMail') add('newmail', r.itemId, l);
  }
  return printed;
}

export function judge(input: VerdictInput): Verdict {
  const { truth, present, t0 } = input;
  const { lines, learnt } = input.output;
  const printed = printedChanges(lines);
  const seen = (id: string): boolean => ['create', 'modify', 'newmail'].some((k) => printed.has(`${k}:${id}`));
  const catchUpAfter = (kind: string, id: string, t: number): boolean => (printed.get(`${kind}:${id}`) ?? []).some((l) => l.rec.source === 'catch-up' && l.at >= t);
  /** The first ChangeKey the watcher learnt for an item the stream printed: a sync's (-v), or a --details line's. */
  const firstLearnt = (id: string): string | undefined => {
    const fromSync = learnt.filter((x) => x.suffix === id.slice(-8));
    const fromDetails = lines.filter((l) => l.rec.itemId === id && l.rec.source === 'stream' && typeof l.rec.changeKey === 'string').map((l) => ({ at: l.at, changeKey: String(l.rec.changeKey) }));
    return [...fromSync, ...fromDetails].sort((a, b) => a.at - b.at)[0]?.changeKey;
  };
  const streamedCreate = (id: string): boolean => (printed.get(`create:${id}`) ?? []).some((l) => l.rec.source === 'stream');
  const missed: string[] = [];
  let obligations = 0;
  let unknowable = 0;
  for (const [id, t] of truth) {
    const here = present.has(id);
    if (t.createdAt !== undefined && here) {
      obligations += 1;
      if (!printed.has(`create:${id}`)) missed.push(`create ${id.slice(-12)} (created ${t.createdAt - t0} ms)`);
    }
    if (t.goneAt !== undefined && (t.createdAt === undefined || seen(id))) {
      obligations += 1;
      if (!printed.has(`delete:${id}`)) missed.push(`delete ${id.slice(-12)} (gone ${t.goneAt - t0} ms, printed before: ${[...printed].filter(([k]) => k.endsWith(id)).map(([k, ls]) => `${k.slice(0, 6)} ${ls.map((l) => `${l.at - t0}ms p${l.proc}`).join('/')}`).join('; ')})`);
    }
    if (t.modifiedAt === undefined || printed.has(`modify:${id}`)) {
      if (t.modifiedAt !== undefined) obligations += 1;
      continue;
    }
    // Folded into a Create or Delete a catch-up printed after it, or never seen at all and gone again.
    const folded = catchUpAfter('create', id, t.modifiedAt) || (!here && (catchUpAfter('delete', id, t.modifiedAt) || !seen(id)));
    if (!folded && streamedCreate(id) && firstLearnt(id) === t.modifiedKey) {
      // The stream printed the item, and the first ChangeKey learnt for it already had this change in it.
      unknowable += 1;
      continue;
    }
    obligations += 1;
    if (!folded) {
      const about = lines.filter((l) => l.rec.itemId === id || l.rec.oldItemId === id).map((l) => `${String(l.rec.event)}/${String(l.rec.source)}@${l.at - t0}p${l.proc}`);
      missed.push(`modify ${id} (at ${t.modifiedAt - t0} ms, ${here ? 'still there' : `gone at ${(t.goneAt ?? 0) - t0}`}, created ${t.createdAt === undefined ? 'before' : t.createdAt - t0}; first ChangeKey learnt ${firstLearnt(id) ?? 'none'}, after the change ${t.modifiedKey}; lines: ${about.join(' ')})`);
    }
  }
  const describe = ([k, ls]: [string, Line[]]): string =>
    `${k.slice(0, 7)}…${k.slice(-12)} ×${ls.length} (${ls.map((l) => `${String(l.rec.event)} ${String(l.rec.source)} in process ${l.proc} at ${l.at - t0} ms`).join(', ')})`;
  const repeats = [...printed].filter(([k, ls]) => !k.startsWith('newmail:') && ls.length > 1);
  const excused = repeats.filter(([, ls]) => inKillWindow(ls, input.kills));
  const duplicated = repeats.filter((r) => !excused.includes(r)).map(describe);
  return {
    obligations,
    unknowable,
    missed,
    duplicated,
    killWindow: excused.map(describe),
    spurious: spuriousLines(input),
    lines: lines.length,
    fromCatchUp: lines.filter((l) => l.rec.source === 'catch-up').length,
    printed,
  };
}

/** Two lines: the first seen at most KILL_WINDOW_MS before its process was killed, the second a later process's catch-up. */
function inKillWindow(ls: readonly Line[], kills: ReadonlyMap<number, number> | undefined): boolean {
  if (!kills || ls.length !== 2) return false;
  const [first, again] = ls as [Line, Line];
  const killedAt = kills.get(first.proc);
  if (killedAt === undefined) return false;
  const before = killedAt - first.at;
  return before >= 0 && before <= KILL_WINDOW_MS && again.proc > first.proc && again.rec.source === 'catch-up';
}

/** Lines about nothing the driver made: an item line whose ids are all unknown, or (when judged) such a folder line. */
function spuriousLines(input: VerdictInput): string[] {
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  return input.output.lines
    .filter((l) => {
      const r = l.rec;
      if (r.itemId !== undefined) return ![str(r.itemId), str(r.oldItemId)].some((id) => id !== undefined && input.known.has(id));
      if (input.knownFolders === undefined) return false;
      return ![str(r.folderId), str(r.oldFolderId), str(r.parentFolderId)].some((id) => id !== undefined && input.knownFolders!.has(id));
    })
    .map((l) => `${String(l.rec.event)} ${String(l.rec.source)} about …${String(l.rec.itemId ?? l.rec.folderId).slice(-12)} in process ${l.proc} at ${l.at - input.t0} ms`);
}
