// Reads a process's CPU time, context switches and memory from Linux's /proc, for the out-of-process figures.
// CPU comes from each thread's /proc/<pid>/task/<tid>/schedstat (nanoseconds on the CPU), because the clock ticks of
// /proc/<pid>/stat (10 ms each) are too coarse for an idle process that runs a few milliseconds a minute; the ticks
// are kept too, since they also count threads that have exited (a burst's figure uses them when a thread went).

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

export interface CpuSample {
  /** utime + stime of /proc/<pid>/stat, in ms (whole process, exited threads included; 10 ms steps). */
  ticksMs: number;
  /** Nanoseconds on the CPU per live thread, from schedstat. */
  threadNs: Map<number, number>;
  /** voluntary + nonvoluntary context switches, summed over the live threads. */
  switches: number;
}

export interface CpuDelta {
  /** CPU time between two samples, in ms: schedstat when no thread exited between them, else the ticks. */
  cpuMs: number;
  switches: number;
  source: 'schedstat' | 'ticks';
}

export const haveProc = (): boolean => existsSync('/proc/self/stat') && existsSync('/proc/self/schedstat');

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    ticksPerSecond = Number(r.stdout.trim()) || 100;
  }
  return ticksPerSecond;
}

/** utime and stime are fields 14 and 15; the command name (field 2) may hold spaces, so count from its ')'. */
function ticksOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks();
}

function switchesOf(statusText: string): number {
  const v = /^voluntary_ctxt_switches:\s+(\d+)/m.exec(statusText)?.[1];
  const n = /^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(statusText)?.[1];
  return Number(v ?? 0) + Number(n ?? 0);
}

/** A sample of `pid`'s CPU; throws when the process is gone. */
export function sampleCpu(pid: number): CpuSample {
  const threadNs = new Map<number, number>();
  let switches = 0;
  for (const name of readdirSync(`/proc/${pid}/task`)) {
    try {
      threadNs.set(Number(name), Number(readFileSync(`/proc/${pid}/task/${name}/schedstat`, 'utf8').split(' ')[0]));
      switches += switchesOf(readFileSync(`/proc/${pid}/task/${name}/status`, 'utf8'));
    } catch {
      // the thread ended while we listed them
    }
  }
  return { ticksMs: ticksOf(pid), threadNs, switches };
}

export function cpuBetween(a: CpuSample, b: CpuSample): CpuDelta {
  const lost = [...a.threadNs.keys()].some((tid) => !b.threadNs.has(tid));
  if (lost) return { cpuMs: b.ticksMs - a.ticksMs, switches: b.switches - a.switches, source: 'ticks' };
  let ns = 0;
  for (const [tid, end] of b.threadNs) ns += end - (a.threadNs.get(tid) ?? 0);
  return { cpuMs: ns / 1e6, switches: b.switches - a.switches, source: 'schedstat' };
}

/**
 * CPU of the main thread (its tid is the pid) and of all the others (V8's workers, libuv's pool) between two
 * samples, in ms (schedstat; threads that exited in between are not counted): where an idle process spent its time.
 */
export function threadSplit(pid: number, a: CpuSample, b: CpuSample): { mainMs: number; othersMs: number } {
  let mainNs = 0;
  let othersNs = 0;
  for (const [tid, end] of b.threadNs) {
    const d = end - (a.threadNs.get(tid) ?? 0);
    if (tid === pid) mainNs += d;
    else othersNs += d;
  }
  return { mainMs: mainNs / 1e6, othersMs: othersNs / 1e6 };
}

/** VmHWM (peak resident set) and VmRSS of /proc/<pid>/status in bytes; undefined when the process is gone. */
export function memoryOf(pid: number): { peak: number; rss: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { peak: kib('VmHWM'), rss: kib('VmRSS') };
  } catch {
    return undefined;
  }
}

/** Write system calls so far (syscw of /proc/<pid>/io); undefined when not readable. */
export function writeCallsOf(pid: number): number | undefined {
  try {
    return Number(/^syscw: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1]);
  } catch {
    return undefined;
  }
}
