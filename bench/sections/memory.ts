// Memory under a slow reader (issue 13, item 2): the CLI's peak resident set (VmHWM) through a burst of
// BENCH_BURST_MAILS mails (3 events each) while the reader of its stdout stops reading for BENCH_STALL_SECONDS
// (default 15) once half the events are printed, then reads again; and whether every event was printed, counted
// as lines once the CLI has been stopped. Target: below 100 MB (10^6 bytes), every event printed.

import { performance } from 'node:perf_hooks';
import { readLines, stop } from '../support/children.js';
import { num, report, sleep } from '../support/figures.js';
import { memoryOf } from '../support/proc.js';
import { startBenchSim, startCli } from '../support/sim.js';
import { BURST_MAILS, BURST_TIMEOUT_MS, EVENTS_PER_MAIL, deliverBurst } from './burst.js';

const STALL_S = Number(process.env.BENCH_STALL_SECONDS ?? 15);
const MB = 1e6;

export async function memory(): Promise<void> {
  const events = BURST_MAILS * EVENTS_PER_MAIL;
  console.log(`\nmemory: ${BURST_MAILS} mails (${events} events) at once; the reader of stdout stops for ${STALL_S} s after ${events / 2} lines`);
  const bench = await startBenchSim();
  const { sim } = bench;
  const cli = startCli(sim, []);
  try {
    const lines = readLines(cli.stdout!);
    await sim.waitFor(() => sim.connections().length >= 1, 30_000);
    const before = memoryOf(cli.pid!)!;
    const t0 = performance.now();
    const stalled = lines.until(() => lines.count >= events / 2, BURST_TIMEOUT_MS).then(async (ok) => {
      if (!ok) return;
      lines.pause();
      await sleep(STALL_S * 1000);
      lines.resume();
    });
    await deliverBurst(sim, BURST_MAILS);
    await stalled;
    const all = await lines.until(() => lines.count >= events, BURST_TIMEOUT_MS);
    const seconds = (performance.now() - t0) / 1000;
    const peak = memoryOf(cli.pid!)?.peak ?? 0;
    await stop(cli);
    console.log(`  RSS ${num(before.rss / MB)} MB before the burst, peak ${num(peak / MB)} MB; ${lines.count} of ${events} lines${all ? ` in ${seconds.toFixed(1)} s (stall included)` : ` after ${(BURST_TIMEOUT_MS / 1000).toFixed(0)} s of waiting`}`);
    report({ what: `peak RSS, ${events / 1000}k burst, reader stops ${STALL_S} s`, ours: peak / MB, unit: 'MB', target: { op: '<', value: 100 } });
    report({ what: 'events printed through that burst', ours: lines.count, unit: 'lines', target: { op: '=', value: events } });
  } finally {
    await stop(cli);
    await bench.close();
  }
}
