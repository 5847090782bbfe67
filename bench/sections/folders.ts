// --all-folders under a burst (issue 13, item 3): the mailbox has three folders besides the inbox; a burst of
// BENCH_FOLDER_MAILS new mails (default 2,000) at BENCH_FOLDER_RATE mails a second (default 200: a rule sorting a
// mailing list's flood, each mail's events a few milliseconds after the last, not all in one write), of which the
// rule moves three in five to those folders and deletes one in five (to Deleted Items). Figures, for a fresh CLI
// with --all-folders:
//  - GetFolder calls the simulator answered from the burst's start to its end, against the distinct folders the
//    burst's events name (FolderId and ParentFolderId of every event): a CLI that asks once for each name it does
//    not know stays at or below it, whatever it knew before;
//  - the median delay from a mail's delivery to its NewMail line, and the peak RSS, against the same burst watched
//    with --folder naming the five folders it touches (inbox, the three, deleteditems).

import { performance } from 'node:perf_hooks';
import type { SimEvent, Simulator } from '../../src/simulator/types.js';
import { readLines, stop } from '../support/children.js';
import { num, percentile, report, sleep } from '../support/figures.js';
import { memoryOf } from '../support/proc.js';
import { startBenchSim, startCli } from '../support/sim.js';
import { BURST_TIMEOUT_MS } from './burst.js';

const MAILS = Number(process.env.BENCH_FOLDER_MAILS ?? 2_000);
const RATE = Number(process.env.BENCH_FOLDER_RATE ?? 200);
const QUIET_MS = 2_000;
const MB = 1e6;

interface FolderRun {
  getFolder: number;
  named: number;
  p50: number;
  peak: number;
  newMail: number;
  lines: number;
  events: number;
}

/** The rule's work for mail i: stays in the inbox, moved to one of the three folders, or deleted. */
function sortMail(sim: Simulator, i: number, id: string, folders: string[]): SimEvent[] {
  const k = i % 5;
  if (k >= 1 && k <= 3) return sim.moveItem(id, folders[k - 1]!).events;
  if (k === 4) return sim.deleteItem(id).events;
  return [];
}

async function folderRun(scope: (folders: string[]) => string[]): Promise<FolderRun> {
  const bench = await startBenchSim();
  const { sim } = bench;
  const folders = ['Lists', 'Receipts', 'Projects'].map((name) => sim.createFolder(name).folder!.id);
  const delivered = new Map<string, number>();
  const delays: number[] = [];
  const cli = startCli(sim, scope(folders));
  try {
    const lines = readLines(cli.stdout!, {
      onLine: (line, at) => {
        if (!line.includes('"event":"NewMail"')) return;
        const t = delivered.get((JSON.parse(line) as { itemId: string }).itemId);
        if (t !== undefined) delays.push(at - t);
      },
    });
    await sim.waitFor(() => sim.connections().length >= 1, 30_000);
    const before = bench.answered('GetFolder');
    const named = new Set<string>();
    let events = 0;
    const note = (evs: SimEvent[]): void => {
      events += evs.length;
      for (const e of evs) for (const id of [e.kind === 'folder' ? e.id : undefined, e.parent, e.oldParent]) if (id) named.add(id.id);
    };
    // Paced by the clock, not by the timer's ticks: a late tick delivers every mail that is due.
    const t0 = performance.now();
    for (let i = 0; i < MAILS; await sleep(5)) {
      const due = Math.min(MAILS, Math.floor(((performance.now() - t0) * RATE) / 1000) + 1);
      for (; i < due; i++) {
        const change = sim.deliverMail({ subject: `sorted ${i}` });
        delivered.set(change.item!.id, performance.now());
        note(change.events);
        note(sortMail(sim, i, change.item!.id, folders));
      }
    }
    // Done when every NewMail is printed and nothing more came for a while (a folder scope sees fewer events).
    await lines.until(() => delays.length >= MAILS, BURST_TIMEOUT_MS);
    let seen = -1;
    while (seen !== lines.count) {
      seen = lines.count;
      await sleep(QUIET_MS);
    }
    const peak = memoryOf(cli.pid!)?.peak ?? 0;
    return { getFolder: bench.answered('GetFolder') - before, named: named.size, p50: percentile(delays, 50), peak, newMail: delays.length, lines: lines.count, events };
  } finally {
    await stop(cli);
    await bench.close();
  }
}

export async function allFolders(): Promise<void> {
  console.log(`\n--all-folders: ${MAILS} mails, ${RATE} a second, 3 in 5 moved to three folders and 1 in 5 deleted; against --folder naming the 5 folders`);
  const all = await folderRun(() => ['--all-folders']);
  const some = await folderRun((f) => ['--folder', ['inbox', ...f, 'deleteditems'].join(',')]);
  for (const [name, r] of [['--all-folders', all], ['--folder ×5 ', some]] as const) {
    console.log(`  ${name} ${r.getFolder} GetFolder calls (${r.named} folders named); NewMail lines ${r.newMail}/${MAILS}; ${r.lines} lines of ${r.events} events; p50 ${num(r.p50)} ms; peak RSS ${num(r.peak / MB)} MB`);
  }
  report({ what: 'GetFolder calls, --all-folders burst', ours: all.getFolder, yardstick: all.named, against: 'distinct folders named', unit: 'calls', target: { op: '≤', value: 1 } });
  report({ what: 'p50 deliver → NewMail line, --all-folders', ours: all.p50, yardstick: some.p50, against: '--folder ×5', unit: 'ms' });
  report({ what: 'peak RSS, --all-folders burst', ours: all.peak / MB, yardstick: some.peak / MB, against: '--folder ×5', unit: 'MB' });
}
