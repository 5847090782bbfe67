// The conformance run: makes a scratch folder tree under the mailbox root, runs the scenario's changes with the real
// EWS calls while ews-watch watches the tree (killed with SIGKILL and restarted twice on one state directory, as
// the chaos test does), judges the union of the outputs with the chaos test's verdict, reports, and removes what
// it made: also when stopped (`signal`) or when something fails. Processes and clients are injected (run.ts wires
// the real ones; test/e2e/conformance.test.ts the tracked ones).

import type { Readable } from 'node:stream';
import type { FolderRef } from '../src/ews/types.js';
import type { MailboxWriter } from '../src/ews/writes.js';
import { timingTable, shown } from './report.js';
import { createState, planScenario, seed, step, type Driver, type OpKind, type ScratchTree } from './scenario.js';
import { collectOutput, createOutput, judge, type Output, type Verdict } from './verdict.js';
import type { EnrichClient, SyncClient } from '../src/ews/client.js';

export const SCRATCH_PREFIX = 'ews-watch conformance ';
const ROOT: FolderRef = { kind: 'distinguished', name: 'msgfolderroot' };
const CONNECT_TIMEOUT_MS = 60_000;

export type HarnessClient = MailboxWriter & Pick<SyncClient, 'syncFolderItems'> & Pick<EnrichClient, 'getItems'>;

export interface CliProcess {
  child: { stdout: Readable; stderr: Readable; kill(signal: NodeJS.Signals): boolean };
  result(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}
export type StartCli = (args: string[], o: { env: Record<string, string>; stdin?: string }) => CliProcess;

export interface HarnessOptions {
  client: HarnessClient;
  startCli: StartCli;
  /** The watchers' environment: how they reach the same mailbox. The harness adds the shared state directory. */
  cliEnv: Record<string, string>;
  /** Extra watcher arguments (e.g. --heartbeat-timeout for a fast simulator, --password-stdin). */
  cliArgs?: string[];
  /** Written to each watcher's standard input (a password for --password-stdin). */
  cliStdin?: string;
  stateDir: string;
  /** Who is being tested, for the report's first line. */
  target: string;
  changes: number;
  seed: number;
  random: () => number;
  /** Pause between two changes, a random length in [min, max] ms. */
  pace: [number, number];
  /** How long the last watcher may settle (its quiet-period sync) before it is stopped. */
  settleMs: number;
  now(): number;
  /** When the run started, for the tree's name. */
  started: Date;
  /** A short random tag naming the run (#a1b2). */
  tag: string;
  write(line: string): void;
  progress(line: string): void;
  /** The raw answer of the EWS call that just failed, if the transport kept it. */
  lastRaw(): string | undefined;
  /** Leftover scratch trees of earlier runs were found: true removes them. */
  removeLeftovers(names: string[]): Promise<boolean>;
  signal: AbortSignal;
  /** Called before each change; may replace the planned kind (the self-test makes its last change a lost create). */
  beforeChange?(index: number, planned: OpKind, total: number): OpKind | undefined;
}

export interface HarnessResult {
  passed: boolean;
  verdict?: Verdict;
  unexpected: string[];
  /** The scratch tree's name, and whether it is gone again. */
  scratchName: string;
  cleanedUp: boolean;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** "ews-watch conformance 2026-12-02 03:10 #a1b2": what made it and when (local time), for a person who finds it. */
export function scratchName(at: Date, tag: string): string {
  return `${SCRATCH_PREFIX}${at.getFullYear()}-${pad2(at.getMonth() + 1)}-${pad2(at.getDate())} ${pad2(at.getHours())}:${pad2(at.getMinutes())} #${tag}`;
}

/** `p`, or the stop's reason once `signal` is aborted (a watcher that never streams must not hold up a Ctrl-C). */
function unlessStopped<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const stop = (): void => reject(signal.reason);
    signal.addEventListener('abort', stop, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop));
  });
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => (signal.removeEventListener('abort', stop), resolve()), ms);
    const stop = (): void => (clearTimeout(timer), reject(signal.reason));
    signal.addEventListener('abort', stop, { once: true });
  });
}

export async function runConformance(o: HarnessOptions): Promise<HarnessResult> {
  const name = scratchName(o.started, o.tag);
  const unexpected: string[] = [];
  await offerLeftovers(o);
  o.progress(`creating the scratch tree "${name}" under the mailbox root`);
  const root = await o.client.createFolder(ROOT, name, o.signal);
  const result: HarnessResult = { passed: false, unexpected, scratchName: name, cleanedUp: false };
  const watchers = createWatchers(o, unexpected);
  let deletedItemsState: string | undefined;
  // Every draft's subject starts with this: cleanup knows this run's drafts in Deleted Items by it.
  const subject = `${SCRATCH_PREFIX}#${o.tag}`;
  try {
    const tree = await makeTree(o, root.id);
    const plan = planScenario(o.changes, o.random);
    if (plan.includes('to-deleted-items')) deletedItemsState = await syncToEnd(o, undefined);
    const d: Driver = { writer: o.client, tree, state: createState(tree), random: o.random, now: o.now, subject, lastRaw: o.lastRaw, signal: o.signal };
    await seed(d, 3, 3);
    const verdict = await drive(o, d, plan, watchers, unexpected);
    result.verdict = verdict;
    result.passed = verdict.missed.length === 0 && verdict.duplicated.length === 0 && verdict.spurious.length === 0 && unexpected.length === 0;
    report(o, d, verdict, watchers.output, unexpected, result.passed, watchers.started());
  } finally {
    await watchers.stopAll();
    result.cleanedUp = await cleanUp(o, root.id, name, subject, deletedItemsState);
  }
  return result;
}

async function offerLeftovers(o: HarnessOptions): Promise<void> {
  const leftovers = (await o.client.findFolders(ROOT, o.signal)).filter((f) => f.displayName.startsWith(SCRATCH_PREFIX));
  if (leftovers.length === 0) return;
  const names = leftovers.map((f) => f.displayName);
  if (!(await o.removeLeftovers(names))) return o.progress(`left in place: ${names.map((n) => `"${shown(n, 120)}"`).join(', ')}`);
  for (const f of leftovers) {
    const how = await o.client.deleteFolder(f.id, 'HardDelete', o.signal);
    o.progress(`removed the leftover "${shown(f.displayName, 120)}"${how === 'already-gone' ? ' (already gone)' : ''}`);
  }
}

async function makeTree(o: HarnessOptions, root: string): Promise<ScratchTree> {
  const under = { kind: 'id', id: root } as const;
  const a = await o.client.createFolder(under, 'watched A', o.signal);
  const b = await o.client.createFolder(under, 'watched B', o.signal);
  const elsewhere = await o.client.createFolder(under, 'not watched', o.signal);
  return { root, watched: [a.id, b.id], elsewhere: elsewhere.id };
}

/** The watcher processes: started on the shared state directory, their output gathered, each known to be streaming. */
function createWatchers(o: HarnessOptions, unexpected: string[]) {
  const output = createOutput();
  const running = new Set<CliProcess>();
  /** Processes the harness stopped or killed: any other that ends, ended by itself, which is worth a line. */
  const stopped = new Set<CliProcess>();
  let procs = 0;
  let t0: number | undefined;
  const start = (folders: string[]): { run: CliProcess; streaming: Promise<void> } => {
    const proc = (procs += 1);
    const args = ['--json', '-v', '--folder', folders.join(','), ...(o.cliArgs ?? [])];
    const run = o.startCli(args, { env: { ...o.cliEnv, EWS_STATE_DIR: o.stateDir }, ...(o.cliStdin !== undefined ? { stdin: o.cliStdin } : {}) });
    running.add(run);
    let streamingSeen: () => void = () => undefined;
    const ended = run.result().then((r) => {
      running.delete(run);
      if (!stopped.has(run)) unexpected.push(`ews-watch process ${proc} ended by itself (${r.code ?? r.signal}); its last words: ${lastWords(output, proc)}`);
      return r;
    });
    // Streaming once -v says so; an error when the process ends first or takes too long (awaited where it matters:
    // a process killed before it streamed is no failure, so the promise is marked handled).
    const streaming = new Promise<void>((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => reject(new Error(`ews-watch process ${proc} was not streaming after ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
      streamingSeen = () => ((done = true), clearTimeout(timer), resolve());
      void ended.then((r) => (clearTimeout(timer), done || reject(new Error(`ews-watch process ${proc} ended (${r.code ?? r.signal}) before it was streaming`))));
    });
    streaming.catch(() => undefined);
    collectOutput(run.child, proc, output, () => t0, (line) => line === 'ews-watch: streaming' && streamingSeen());
    return { run, streaming };
  };
  return {
    output,
    start,
    started: () => procs,
    setT0: (t: number) => (t0 = t),
    kill(run: CliProcess): void {
      stopped.add(run);
      run.child.kill('SIGKILL');
    },
    /** SIGINT, and the exit code must be 0 (README: "stopped by SIGINT … at any moment"). */
    async stop(run: CliProcess, which: string): Promise<void> {
      stopped.add(run);
      run.child.kill('SIGINT');
      const r = await run.result();
      if (r.code !== 0) unexpected.push(`${which} ews-watch exited with ${r.code ?? r.signal} on SIGINT (expected 0); its last words: ${lastWords(output)}`);
    },
    async stopAll(): Promise<void> {
      for (const run of [...running]) {
        stopped.add(run);
        run.child.kill('SIGKILL');
      }
      await Promise.all([...running].map((run) => run.result()));
    },
  };
}

/** A process's last few messages on stderr (not the stack trace -v adds), for a report line. */
function lastWords(output: Output, proc?: number): string {
  const own = output.warnings.filter((l) => (proc === undefined ? /^\d+ms p\d+: ews-watch: / : new RegExp(`^\\d+ms p${proc}: ews-watch: `)).test(l));
  return own.slice(-2).join(' | ') || '(none)';
}

/** The scenario with the watchers around it: two SIGKILLs at a third and two thirds, each restarted after a pause. */
async function drive(o: HarnessOptions, d: Driver, plan: OpKind[], w: ReturnType<typeof createWatchers>, unexpected: string[]): Promise<Verdict> {
  const folders = d.tree.watched;
  let current = w.start(folders);
  await unlessStopped(current.streaming, o.signal);
  const t0 = o.now();
  w.setT0(t0);
  const killAt = new Set([Math.floor(plan.length / 3), Math.floor((2 * plan.length) / 3)]);
  let restarting: Promise<void> | undefined;
  let kills = 0;
  for (let i = 0; i < plan.length; i += 1) {
    if (o.signal.aborted) throw o.signal.reason;
    // The kill comes a pause after the last change, not right on its heels: a kill in the microseconds between
    // printing a line and recording it may print that change twice, which the README allows and the verdict does not.
    if (killAt.has(i)) {
      await restarting;
      w.kill(current.run);
      kills += 1;
      const dead = current.run;
      const pause = 200 + Math.floor(o.random() * 1000);
      o.progress(`change ${i + 1}/${plan.length}: killed ews-watch with SIGKILL; restarting it in ${pause} ms`);
      restarting = (async () => {
        await dead.result();
        await delay(pause, o.signal);
        current = w.start(folders);
      })();
      // Awaited before the next kill and at the end; a stop meanwhile must not make it an unhandled rejection.
      restarting.catch(() => undefined);
    }
    const record = await step(d, o.beforeChange?.(i, plan[i]!, plan.length) ?? plan[i]!, i);
    if (record.error) unexpected.push(`${record.kind} (change ${i}) failed: ${record.error}${record.raw ? `\n  raw answer: ${shown(record.raw)}` : ''}`);
    await delay(o.pace[0] + Math.floor(o.random() * (o.pace[1] - o.pace[0] + 1)), o.signal);
  }
  await restarting;
  await unlessStopped(current.streaming, o.signal);
  o.progress(`all ${plan.length} changes made (${kills} kills); letting the last ews-watch settle`);
  // Let the last process settle (a quiet-period sync), stop it, and let one more start catch up from the state.
  await delay(o.settleMs, o.signal);
  await w.stop(current.run, 'the last killed-and-restarted');
  const last = w.start(folders);
  await unlessStopped(last.streaming, o.signal);
  await delay(Math.min(2000, o.settleMs), o.signal);
  await w.stop(last.run, 'the final');
  const present = new Set([...d.state.items].filter(([, i]) => folders.includes(i.folder)).map(([id]) => id));
  return judge({ truth: d.state.truth, output: w.output, present, known: d.state.known, knownFolders: d.state.knownFolders, t0 });
}

function report(o: HarnessOptions, d: Driver, v: Verdict, output: Output, unexpected: string[], passed: boolean, processes: number): void {
  const records = d.state.records;
  const folderLines = output.lines.filter((l) => l.rec.folderId !== undefined && l.rec.source === 'stream');
  const folderCount = (change: 'folder-create' | 'folder-delete', event: string): string => {
    const made = records.filter((r) => r.expect?.change === change);
    return `${made.length} (streamed ${made.filter((r) => folderLines.some((l) => l.rec.folderId === r.expect!.id && l.rec.event === event)).length})`;
  };
  o.write(`conformance: ${o.target} · seed ${o.seed} (replay with --seed ${o.seed}) · ${records.length} changes · ${processes} ews-watch processes, 2 of them killed with SIGKILL`);
  o.write(`changes made ${records.length}, changes that had to be reported ${v.obligations}, modifications not knowable ${v.unknowable}, lines printed ${v.lines} (${v.fromCatchUp} catch-up), missed ${v.missed.length}, doubled ${v.duplicated.length}, spurious ${v.spurious.length}`);
  o.write(`folders: created ${folderCount('folder-create', 'Created')}, deleted ${folderCount('folder-delete', 'Deleted')} (not caught up after a gap: a folder's own events are streamed only)`);
  for (const line of timingTable(records, v, output.lines)) o.write(line);
  const list = (title: string, items: string[]): void => {
    if (items.length === 0) return;
    o.write(`${title}:`);
    for (const item of items) o.write(`  ${shown(item)}`);
  };
  list('missed', v.missed);
  list('doubled', v.duplicated);
  list('spurious', v.spurious);
  list('unexpected', unexpected);
  if (!passed && (v.missed.length || v.duplicated.length)) list('what the watchers said on stderr (last 20 lines)', output.warnings.slice(-20));
  o.write(passed ? 'result: PASS' : 'result: FAIL');
}

/** Pages SyncFolderItems of Deleted Items to its end: a baseline (no state), or what came since `state`. */
async function syncToEnd(o: HarnessOptions, state: string | undefined, created?: string[]): Promise<string> {
  let syncState = state;
  for (let page = 0; page < 10_000; page += 1) {
    const answer = await o.client.syncFolderItems({ folder: { kind: 'distinguished', name: 'deleteditems' }, ...(syncState ? { syncState } : {}), maxChanges: 512 });
    syncState = answer.syncState;
    if (created) created.push(...answer.changes.filter((c) => c.kind === 'create').map((c) => c.itemId));
    if (answer.includesLast) break;
  }
  return syncState!;
}

/** Removes the scratch tree, and this run's drafts from Deleted Items (found by their subject). Never throws. */
async function cleanUp(o: HarnessOptions, root: string, name: string, subject: string, deletedItemsState: string | undefined): Promise<boolean> {
  let clean = true;
  try {
    const how = await o.client.deleteFolder(root, 'HardDelete');
    o.progress(`removed the scratch tree "${name}"${how === 'already-gone' ? ' (already gone)' : ''}`);
  } catch (err) {
    clean = false;
    o.progress(`could not remove the scratch tree "${name}": ${err instanceof Error ? err.message : String(err)}; delete it by hand`);
  }
  if (deletedItemsState === undefined) return clean;
  try {
    const arrived: string[] = [];
    await syncToEnd(o, deletedItemsState, arrived);
    let removed = 0;
    for (let i = 0; i < arrived.length; i += 10) {
      const found = await o.client.getItems(arrived.slice(i, i + 10));
      for (const f of found) {
        if (!f.ok || !f.details.subject?.startsWith(subject)) continue;
        await o.client.deleteItem(f.itemId, 'HardDelete');
        removed += 1;
      }
    }
    o.progress(`removed ${removed} draft(s) of this run from Deleted Items`);
  } catch (err) {
    clean = false;
    o.progress(`could not remove this run's drafts from Deleted Items (subject "${subject} …"): ${err instanceof Error ? err.message : String(err)}`);
  }
  return clean;
}
