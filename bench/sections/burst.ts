// Burst figures (issue 13, item 4): CPU per event and events per second of the whole CLI process, stdout a pipe
// read as fast as it comes, against the bare reader (bare/read.ts: undici + one saxes parse per envelope, printing
// nothing), both subscribed to the inbox of one simulator and so reading the same burst at the same time.
// CPU per event = (CPU when the process has handled the burst's last event − CPU before the burst) / events; for
// the CLI "handled" is its last line reaching us, for the reader its "reached N" answer. Also used by the other
// burst sections: deliverBurst().

import { performance } from 'node:perf_hooks';
import type { ChildProcess } from 'node:child_process';
import type { Simulator } from '../../src/simulator/types.js';
import { readLines, stop, type LineReader } from '../support/children.js';
import { num, report } from '../support/figures.js';
import { cpuBetween, sampleCpu } from '../support/proc.js';
import { startBare, startBenchSim, startCli } from '../support/sim.js';

export const BURST_MAILS = Number(process.env.BENCH_BURST_MAILS ?? 10_000);
export const EVENTS_PER_MAIL = 3;
const WARM_UP_MAILS = 50;
export const BURST_TIMEOUT_MS = Number(process.env.BENCH_BURST_TIMEOUT_SECONDS ?? 180) * 1000;

/** Delivers `mails` new mails into the inbox as fast as the simulator takes them (a turn of the loop every 200). */
export async function deliverBurst(sim: Simulator, mails: number, label = 'burst', each?: (i: number, itemId: string) => void): Promise<void> {
  for (let i = 0; i < mails; i++) {
    const change = sim.deliverMail({ subject: `${label} ${i}` });
    each?.(i, change.item!.id);
    if (i % 200 === 199) await new Promise((r) => setImmediate(r));
  }
}

/** Asks bare/read.ts to say when it has seen `events` events; resolves with the time its answer arrived. */
function reached(reader: ChildProcess, lines: LineReader, events: number, timeoutMs: number): Promise<number | undefined> {
  const before = lines.count;
  reader.stdin!.write(`${events}\n`);
  return lines.until(() => lines.count > before, timeoutMs).then((ok) => (ok ? lines.lastAt : undefined));
}

export async function burst(): Promise<void> {
  const events = BURST_MAILS * EVENTS_PER_MAIL;
  console.log(`\nburst: ${BURST_MAILS} mails (${events} events) delivered at once; the CLI (stdout a pipe read at once) and the bare reader on the same stream bytes`);
  const bench = await startBenchSim();
  const { sim } = bench;
  const cli = startCli(sim, []);
  const bare = startBare(sim, 'read', true);
  try {
    const cliLines = readLines(cli.stdout!);
    const bareLines = readLines(bare.stdout!);
    await sim.waitFor(() => sim.connections().length >= 2, 30_000);
    // Warm-up: the first events pay for compiling the hot paths, in both processes.
    await deliverBurst(sim, WARM_UP_MAILS, 'warm-up');
    const warm = WARM_UP_MAILS * EVENTS_PER_MAIL;
    if (!(await cliLines.until(() => cliLines.count >= warm, 30_000))) throw new Error('the CLI did not print the warm-up mails');
    if ((await reached(bare, bareLines, warm, 30_000)) === undefined) throw new Error('the bare reader did not see the warm-up mails');

    const cpu0 = { cli: sampleCpu(cli.pid!), bare: sampleCpu(bare.pid!) };
    const t0 = performance.now();
    const bareDone = reached(bare, bareLines, warm + events, BURST_TIMEOUT_MS).then((at) => ({ at, cpu: sampleCpu(bare.pid!) }));
    const cliDone = cliLines.until(() => cliLines.count >= warm + events, BURST_TIMEOUT_MS).then((ok) => ({ at: ok ? cliLines.lastAt : undefined, cpu: sampleCpu(cli.pid!) }));
    await deliverBurst(sim, BURST_MAILS);
    const [c, b] = await Promise.all([cliDone, bareDone]);
    if (c.at === undefined) throw new Error(`the CLI printed ${cliLines.count - warm} of ${events} lines within ${BURST_TIMEOUT_MS / 1000} s`);
    if (b.at === undefined) throw new Error(`the bare reader did not see ${events} events within ${BURST_TIMEOUT_MS / 1000} s`);
    const ours = cpuBetween(cpu0.cli, c.cpu);
    const yard = cpuBetween(cpu0.bare, b.cpu);
    const rate = (at: number): number => events / ((at - t0) / 1000);
    console.log(`  ews-watch   CPU ${num(ours.cpuMs)} ms (${ours.source}), ${num(rate(c.at))} events/s, ${((c.at - t0) / 1000).toFixed(2)} s`);
    console.log(`  bare reader CPU ${num(yard.cpuMs)} ms (${yard.source}), ${num(rate(b.at))} events/s, ${((b.at - t0) / 1000).toFixed(2)} s`);
    report({ what: `CPU per event, ${events / 1000}k burst, whole process`, ours: (ours.cpuMs * 1000) / events, yardstick: (yard.cpuMs * 1000) / events, against: 'bare reader', unit: 'µs', target: { op: '≤', value: 1.3 } });
    report({ what: `events/s, ${events / 1000}k burst`, ours: rate(c.at), yardstick: rate(b.at), against: 'bare reader', unit: 'events/s' });
  } finally {
    await Promise.all([stop(cli), stop(bare)]);
    await bench.close();
  }
}
