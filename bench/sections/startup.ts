// Start-up figures (issue 13, items 5 and 6):
//  - `--help` and `--version`: spawn → exit, the median of BENCH_STARTUP_RUNS runs each (default 10, after one
//    unmeasured run of each to warm the page cache), against `node -e 0` measured alternately with them.
//  - spawn → first event line: the CLI is spawned; as soon as the simulator sees its GetStreamingEvents open it
//    delivers one mail; the figure is spawn → that mail's first line on the CLI's stdout. The yardstick
//    (bare/first-event.ts) does the same round trips (Subscribe, GetStreamingEvents) with undici and saxes and prints
//    one line for the first event. Median of BENCH_FIRST_EVENT_RUNS (default 5) alternate runs of each.

import { performance } from 'node:perf_hooks';
import type { ChildProcess } from 'node:child_process';
import type { Simulator } from '../../src/simulator/types.js';
import { readLines, start, stop } from '../support/children.js';
import { median, num, report } from '../support/figures.js';
import { binPath, startBare, startBenchSim, startCli, streamOpened, lastStreamId, tempDir } from '../support/sim.js';

const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 10);
const FIRST_EVENT_RUNS = Number(process.env.BENCH_FIRST_EVENT_RUNS ?? 5);

/** Spawn → exit of one command, in ms; throws if it fails or prints nothing (then it measured nothing). */
async function wallOf(args: string[], expectOutput: boolean): Promise<number> {
  const home = tempDir('ews-watch-bench-home-');
  const t0 = performance.now();
  const child = start(process.execPath, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = 0;
  child.stdout!.on('data', (d: Buffer) => (out += d.length));
  child.stderr!.resume();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const ms = performance.now() - t0;
  if (code !== 0 || (expectOutput && out === 0)) throw new Error(`${args.join(' ')} exited ${code} with ${out} bytes on stdout`);
  return ms;
}

export async function helpAndVersion(): Promise<void> {
  console.log(`\n--help and --version: spawn → exit, median of ${RUNS} runs each, against node -e 0 in the same rounds`);
  const variants: Record<string, string[]> = { node: ['-e', '0'], help: [binPath, '--help'], version: [binPath, '--version'] };
  const times: Record<string, number[]> = { node: [], help: [], version: [] };
  for (const [name, args] of Object.entries(variants)) await wallOf(args, name !== 'node');
  for (let i = 0; i < RUNS; i++) for (const [name, args] of Object.entries(variants)) times[name]!.push(await wallOf(args, name !== 'node'));
  const node = median(times.node!);
  for (const name of ['help', 'version'] as const) {
    console.log(`  ${name.padEnd(7)} ${times[name]!.map((t) => num(t)).join(' ')} ms`);
    report({ what: `--${name} spawn → exit`, ours: median(times[name]!), yardstick: node, against: 'node -e 0', unit: 'ms', target: { op: '≤', value: 2 } });
  }
  console.log(`  node -e 0 ${times.node!.map((t) => num(t)).join(' ')} ms`);
}

/** Spawn → the first line on stdout, with one mail delivered as soon as this process's stream is open. */
async function firstLine(sim: Simulator, launch: () => ChildProcess): Promise<number> {
  const before = lastStreamId(sim);
  const t0 = performance.now();
  const child = launch();
  try {
    let firstAt = 0;
    const lines = readLines(child.stdout!, { onLine: (_l, at) => (firstAt ||= at) });
    await streamOpened(sim, before);
    sim.deliverMail({ subject: 'first' });
    if (!(await lines.until(() => lines.count > 0, 30_000))) throw new Error('no line within 30 s');
    return firstAt - t0;
  } finally {
    await stop(child);
  }
}

export async function firstEvent(): Promise<void> {
  console.log(`\nspawn → first event line (one mail delivered once the stream is open), median of ${FIRST_EVENT_RUNS} runs each, alternately`);
  const bench = await startBenchSim();
  try {
    const cli: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < FIRST_EVENT_RUNS; i++) {
      cli.push(await firstLine(bench.sim, () => startCli(bench.sim, [])));
      bare.push(await firstLine(bench.sim, () => startBare(bench.sim, 'first-event')));
    }
    console.log(`  ews-watch   ${cli.map((t) => num(t)).join(' ')} ms`);
    console.log(`  bare undici ${bare.map((t) => num(t)).join(' ')} ms (Subscribe + GetStreamingEvents, saxes per envelope)`);
    report({ what: 'spawn → first event line', ours: median(cli), yardstick: median(bare), against: 'bare undici script', unit: 'ms', target: { op: '≤', value: 1.5 } });
  } finally {
    await bench.close();
  }
}
