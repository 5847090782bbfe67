// Details and hooks under a burst (issue 13, items 2 and 3): three runs of a fresh CLI against a fresh simulator,
// each a burst of BENCH_BURST_MAILS new mails (3 events each), stdout a pipe read at once:
//  - plain: the yardstick of the other two's wall time (first mail delivered → last line);
//  - `--details`: the share of mails (NewMail lines) printed with details, or with a detailsError the server gave
//    (an EWS response code such as ErrorItemNotFound, not ews-watch's "not fetched: …");
//  - `--on NewMail --exec dd …`: one hook run per mail; each run appends one byte to a file (dd reads one byte of
//    the event on its stdin and stops, as `true` would not read it at all), so the file's size is the exact count
//    of runs that happened. Wall time runs until the last run's byte is there;
//  - and the floor under the --exec figure: the same runs of the same hook from a bare Node process that does
//    nothing else (bare/spawn-hooks.ts), for information. Starting a process costs what it costs: when the floor
//    alone is over 3× the plain burst, no watcher that runs one process per event meets that target on this machine.
// The wait ends when everything arrived, when nothing moved for BENCH_GIVE_UP_SECONDS (default 20), or after
// BENCH_BURST_TIMEOUT_SECONDS.

import { statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readLines, start, stop, type LineReader } from '../support/children.js';
import { report, sleep } from '../support/figures.js';
import { barePath, startBenchSim, startCli, tempDir } from '../support/sim.js';
import { HOOK_DEFAULTS } from '../../src/hooks/types.js';
import { BURST_MAILS, BURST_TIMEOUT_MS, EVENTS_PER_MAIL, deliverBurst } from './burst.js';

const GIVE_UP_MS = Number(process.env.BENCH_GIVE_UP_SECONDS ?? 20) * 1000;
const BACKLOG_PREFIX = 'not fetched';

interface Run {
  wallMs: number;
  lines: number;
  hooks: number;
  /** NewMail lines with details (or a server's detailsError), and those with ews-watch's own "not fetched". */
  detailed: number;
  skipped: number;
  complete: boolean;
}

const sizeOf = (file: string): number => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

/** Waits for `done()`, polling every 100 ms; gives up when `progress()` stays put for GIVE_UP_MS. The end time. */
async function settle(done: () => boolean, progress: () => number, lines: LineReader): Promise<{ at: number; complete: boolean }> {
  const t0 = performance.now();
  let last = progress();
  let lastAt = performance.now();
  while (!done()) {
    if (performance.now() - t0 > BURST_TIMEOUT_MS || performance.now() - lastAt > GIVE_UP_MS) return { at: lastAt, complete: false };
    await sleep(100);
    const now = progress();
    if (now !== last) (last = now), (lastAt = performance.now());
  }
  return { at: Math.max(lines.lastAt, lastAt), complete: true };
}

async function burstRun(args: string[], hookFile?: string): Promise<Run> {
  const bench = await startBenchSim();
  const { sim } = bench;
  const cli = startCli(sim, args);
  const events = BURST_MAILS * EVENTS_PER_MAIL;
  let detailed = 0;
  let skipped = 0;
  const tally = (line: string): void => {
    if (!line.includes('"event":"NewMail"')) return;
    const rec = JSON.parse(line) as { subject?: unknown; detailsError?: string };
    if (rec.subject !== undefined || /^Error\w+$/.test(rec.detailsError ?? '')) detailed += 1;
    else if (rec.detailsError?.startsWith(BACKLOG_PREFIX)) skipped += 1;
  };
  try {
    const lines = readLines(cli.stdout!, args.includes('--details') ? { onLine: tally } : {});
    await sim.waitFor(() => sim.connections().length >= 1, 30_000);
    const hooks = (): number => (hookFile ? sizeOf(hookFile) : 0);
    const t0 = performance.now();
    await deliverBurst(sim, BURST_MAILS);
    const end = await settle(() => lines.count >= events && (!hookFile || hooks() >= BURST_MAILS), () => lines.count + hooks(), lines);
    return { wallMs: end.at - t0, lines: lines.count, hooks: hooks(), detailed, skipped, complete: end.complete };
  } finally {
    await stop(cli);
    await bench.close();
  }
}

/** bare/spawn-hooks.ts running `hook` BURST_MAILS times; its own wall time (first spawn → last exit). */
async function spawnFloor(hook: string[], countFile: string): Promise<{ wallMs: number; runs: number }> {
  const child = start(process.execPath, [barePath('spawn-hooks'), ...hook], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BENCH_HOOK_RUNS: String(BURST_MAILS), BENCH_HOOK_CONCURRENCY: String(HOOK_DEFAULTS.concurrency) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const lines = readLines(child.stdout!, { keep: true });
    if (!(await lines.until(() => lines.count > 0, BURST_TIMEOUT_MS))) throw new Error(`the bare spawner did not finish ${BURST_MAILS} runs in time`);
    const wallMs = Number(/^done ([\d.]+)$/.exec(lines.lines[0] ?? '')?.[1]);
    if (!(wallMs > 0)) throw new Error(`the bare spawner said ${JSON.stringify(lines.lines[0])}`);
    return { wallMs, runs: sizeOf(countFile) };
  } finally {
    await stop(child);
  }
}

export async function enrich(): Promise<void> {
  const events = BURST_MAILS * EVENTS_PER_MAIL;
  console.log(`\n--details and --exec: ${BURST_MAILS} mails (${events} events) at once, each against a plain run of the same burst`);
  const plain = await burstRun([]);
  console.log(`  plain      ${(plain.wallMs / 1000).toFixed(2)} s, ${plain.lines} of ${events} lines`);
  if (!plain.complete) throw new Error(`the plain burst printed ${plain.lines} of ${events} lines`);

  const details = await burstRun(['--details']);
  console.log(`  --details  ${(details.wallMs / 1000).toFixed(2)} s, ${details.lines} of ${events} lines; NewMail with details ${details.detailed}, "${BACKLOG_PREFIX}: …" ${details.skipped}`);
  report({ what: 'mails with details, --details burst', ours: (100 * details.detailed) / BURST_MAILS, unit: '%', target: { op: '≥', value: 100 } });
  report({ what: '--details burst wall time', ours: details.wallMs / 1000, yardstick: plain.wallMs / 1000, against: 'plain burst', unit: 's', target: { op: '≤', value: 3 } });

  const hookFile = join(tempDir('ews-watch-bench-hooks-'), 'runs');
  const hook = ['dd', `of=${hookFile}`, 'oflag=append', 'conv=notrunc', 'bs=1', 'count=1', 'status=none'];
  const exec = await burstRun(['--on', 'NewMail', '--exec', ...hook], hookFile);
  console.log(`  --exec     ${(exec.wallMs / 1000).toFixed(2)} s, ${exec.lines} of ${events} lines; hook runs ${exec.hooks} of ${BURST_MAILS} (--on NewMail --exec ${hook.join(' ').replace(hookFile, 'FILE')})`);
  report({ what: 'hook runs, --exec burst', ours: (100 * exec.hooks) / BURST_MAILS, unit: '%', target: { op: '≥', value: 100 } });
  report({ what: '--exec burst wall time', ours: exec.wallMs / 1000, yardstick: plain.wallMs / 1000, against: 'plain burst', unit: 's', target: { op: '≤', value: 3 } });
  // The floor under that target: the same runs from a bare Node process that does nothing else (bare/spawn-hooks.ts).
  const floorFile = join(tempDir('ews-watch-bench-hooks-'), 'runs');
  const floor = await spawnFloor(hook.map((a) => (a === `of=${hookFile}` ? `of=${floorFile}` : a)), floorFile);
  console.log(`  floor      ${(floor.wallMs / 1000).toFixed(2)} s for ${floor.runs} runs of the same hook from a bare Node process (${HOOK_DEFAULTS.concurrency} at once, the same pipes), nothing else`);
  report({ what: '--exec floor (bare Node, same runs)', ours: floor.wallMs / 1000, yardstick: plain.wallMs / 1000, against: 'plain burst', unit: 's' });
  report({ what: '--exec burst wall time against that floor', ours: exec.wallMs / 1000, yardstick: floor.wallMs / 1000, against: 'floor', unit: 's' });
  if (!details.complete || !exec.complete) console.log(`  (a run that stopped moving for ${GIVE_UP_MS / 1000} s is timed to its last progress)`);
}
