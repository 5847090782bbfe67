// Idle figures (issue 13, item 1), three processes watching one simulator over the same window of the same run:
//  - the CLI with stdout and stderr pipes (not a terminal);
//  - the yardstick: bare/hold.ts, undici alone holding one idle GetStreamingEvents response with bodyTimeout 0;
//  - the CLI on a pseudo-terminal (its status line running), whose own process's CPU has an absolute target.
// After all three streams are open, one mail is delivered (each has then handled an event, as a watcher that has
// been running has), then a warm-up of BENCH_IDLE_WARMUP_SECONDS (default 30), then up to BENCH_IDLE_SETTLE_SECONDS
// (default 60) more until the CLI on pipes and the yardstick each used under 2 ms of CPU in 5 s (not the one on a
// pty, whose status line redraws each second): after a process last allocated, V8 collects garbage in small steps
// for a while, longer on a loaded machine (the yardstick as much as the CLI), and that settling is not what a
// days-long idle figure is about. Then CPU (schedstat, all threads), context switches (all
// threads) and write calls are sampled at the start and the end of a window of BENCH_IDLE_SECONDS (default 60)
// and scaled per minute.

import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { ChildProcess } from 'node:child_process';
import { readLines, stop } from '../support/children.js';
import { num, report, sleep } from '../support/figures.js';
import { cpuBetween, sampleCpu, threadSplit, writeCallsOf, type CpuSample } from '../support/proc.js';
import { haveScript, startPtyCli, stopPty, type PtyCli } from '../support/pty.js';
import { binPath, cliEnv, HEARTBEAT_MS, startBare, startBenchSim, startCli } from '../support/sim.js';

const WINDOW_S = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
const WARM_UP_S = Number(process.env.BENCH_IDLE_WARMUP_SECONDS ?? 30);
const SETTLE_S = Number(process.env.BENCH_IDLE_SETTLE_SECONDS ?? 60);
const SETTLED_MS_PER_5S = 2;

interface Watched {
  name: string;
  pid: number;
  cpu?: CpuSample;
  writes?: number;
}

/** Waits until each process used under SETTLED_MS_PER_5S of CPU in 5 s, or SETTLE_S passed; the seconds waited. */
async function settle(pids: number[]): Promise<{ seconds: number; settled: boolean }> {
  const t0 = performance.now();
  let before = pids.map(sampleCpu);
  while (performance.now() - t0 < SETTLE_S * 1000) {
    await sleep(5_000);
    const now = pids.map(sampleCpu);
    const quiet = now.every((s, i) => cpuBetween(before[i]!, s).cpuMs < SETTLED_MS_PER_5S);
    before = now;
    if (quiet) return { seconds: (performance.now() - t0) / 1000, settled: true };
  }
  return { seconds: (performance.now() - t0) / 1000, settled: false };
}

export async function idle(): Promise<void> {
  console.log(`\nidle: ${WINDOW_S} s window after a ${WARM_UP_S} s warm-up, heartbeats every ${HEARTBEAT_MS / 1000} s on every stream`);
  const bench = await startBenchSim();
  const { sim } = bench;
  const children: ChildProcess[] = [];
  let pty: PtyCli | undefined;
  try {
    const cli = startCli(sim, []);
    children.push(cli);
    const cliLines = readLines(cli.stdout!);
    const bare = startBare(sim, 'hold');
    children.push(bare);
    bare.stdout!.resume();
    pty = haveScript() ? await startPtyCli([process.execPath, binPath], cliEnv(sim)) : undefined;
    await sim.waitFor(() => sim.connections().length >= (pty ? 3 : 2), 30_000);
    sim.deliverMail({ subject: 'before the idle window' });
    if (!(await cliLines.until(() => cliLines.count >= 3, 15_000))) throw new Error('the CLI did not print the mail before the window');
    await sleep(WARM_UP_S * 1000);

    const watched: Watched[] = [
      { name: 'ews-watch', pid: cli.pid! },
      { name: 'bare undici', pid: bare.pid! },
      ...(pty ? [{ name: 'ews-watch on a pty', pid: pty.pid }] : []),
    ];
    const settled = await settle([cli.pid!, bare.pid!]);
    console.log(`  settled ${settled.settled ? 'after' : 'NOT, still busy after'} ${settled.seconds.toFixed(0)} s more (under ${SETTLED_MS_PER_5S} ms CPU in 5 s, CLI and yardstick); load average ${loadavg()[0]!.toFixed(1)}`);
    const sentBefore = sim.sent.length;
    const ptyChars = pty?.chars ?? 0;
    for (const w of watched) (w.cpu = sampleCpu(w.pid)), (w.writes = writeCallsOf(w.pid));
    const t0 = performance.now();
    await sleep(WINDOW_S * 1000);
    const perMin = 60_000 / (performance.now() - t0);
    const beats = sim.sent.slice(sentBefore).filter((e) => e.kind === 'heartbeat').length;
    const figures = watched.map((w) => {
      const end = sampleCpu(w.pid);
      const d = cpuBetween(w.cpu!, end);
      const split = threadSplit(w.pid, w.cpu!, end);
      const writes = w.writes === undefined ? undefined : (writeCallsOf(w.pid) ?? 0) - w.writes;
      return { ...w, cpu: d.cpuMs * perMin, main: split.mainMs * perMin, others: split.othersMs * perMin, switches: d.switches * perMin, writes: writes === undefined ? undefined : writes * perMin, source: d.source };
    });
    // The threads too: an idle figure far off its usual value (seen once: 38.8 ms/min, 2,731 write calls/min) says
    // whether the main thread (our code, V8's tasks) or the workers (garbage collection, the thread pool) were busy.
    for (const f of figures) {
      console.log(`  ${f.name.padEnd(19)} ${num(f.cpu)} ms CPU/min (${f.source}; main thread ${num(f.main)}, others ${num(f.others)}), ${num(f.switches)} context switches/min, ${f.writes === undefined ? '?' : num(f.writes)} write calls/min`);
    }
    console.log(`  heartbeats written in the window: ${beats} on ${watched.length} streams${pty ? `; the terminal received ${num(((pty.chars - ptyChars) * perMin))} characters/min` : ''}`);
    const [ours, yard, onPty] = figures;
    report({ what: 'idle CPU, stderr not a terminal', ours: ours!.cpu, yardstick: yard!.cpu, against: 'bare undici', unit: 'ms/min', target: { op: '≤', value: 1.5 } });
    report({ what: 'idle context switches, not a terminal', ours: ours!.switches, yardstick: yard!.switches, against: 'bare undici', unit: '/min' });
    if (onPty) report({ what: 'idle CPU on a pty (spinner)', ours: onPty.cpu, unit: 'ms/min', target: { op: '≤', value: 60 } });
    else console.log('  (no util-linux script(1): the pty figure is skipped)');
  } finally {
    if (pty) await stopPty(pty);
    await Promise.all(children.map((c) => stop(c)));
    await bench.close();
  }
}
