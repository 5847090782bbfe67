// The set-up every out-of-process figure shares: a simulated Exchange on 127.0.0.1 (in this process), the built
// CLI started against it as a user would start it (own state directory, clean environment, stderr not a terminal
// unless on a pty), the yardstick scripts of bench/bare/ started against the same server, and a count of the
// requests the server answered per operation (from its log, which, unlike `requests`, is not bounded).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { startSimulator } from '../../src/simulator/index.js';
import type { Simulator, SimulatorOptions } from '../../src/simulator/types.js';
import { start } from './children.js';

export const binPath = fileURLToPath(new URL('../../../bin/ews-watch.js', import.meta.url));
export const barePath = (name: string): string => fileURLToPath(new URL(`../bare/${name}.js`, import.meta.url));

/**
 * ConnectionStatus OK heartbeats every 30 s unless BENCH_HEARTBEAT_MS says otherwise: within the 45 s the EWS
 * Managed API expects (protocol-notes.md §2.4; the real interval is unconfirmed). Idle CPU is mostly the
 * heartbeats' cost, so every process of one figure meets the same interval, and a window of a whole number of
 * intervals holds the same number of heartbeats for each.
 */
export const HEARTBEAT_MS = Number(process.env.BENCH_HEARTBEAT_MS ?? 30_000);

export interface BenchSim {
  sim: Simulator;
  /** Requests answered so far, per operation (SOAP body root). */
  answered(operation: string): number;
  close(): Promise<void>;
}

export async function startBenchSim(opts: SimulatorOptions = {}): Promise<BenchSim> {
  const counts = new Map<string, number>();
  const sim = await startSimulator({
    heartbeatMs: HEARTBEAT_MS,
    // Room for every mail of a burst: past maxItems the simulator drops the oldest, as a retention policy would.
    maxItems: 200_000,
    maxQueuedEvents: 200_000,
    ...opts,
    log: (line) => {
      opts.log?.(line);
      const op = /^POST \S+ (\w+)$/.exec(line)?.[1];
      if (op) counts.set(op, (counts.get(op) ?? 0) + 1);
    },
  });
  return { sim, answered: (op) => counts.get(op) ?? 0, close: () => sim.close() };
}

const temporary: string[] = [];
process.on('exit', () => temporary.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A temporary directory removed when this process exits. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temporary.push(dir);
  return dir;
}

/** The environment a user would give the CLI for this server: Basic, its own state directory, nothing else. */
export function cliEnv(sim: Simulator, extra: Record<string, string> = {}): Record<string, string> {
  const state = tempDir('ews-watch-bench-');
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: state,
    XDG_STATE_HOME: state,
    EWS_URL: sim.url,
    EWS_AUTH: 'basic',
    EWS_USER: sim.credentials.user,
    EWS_PASSWORD: sim.credentials.password,
    ...extra,
  };
}

/** The CLI with stdout a pipe (read by the caller) and stderr a pipe that is drained: not a terminal. */
export function startCli(sim: Simulator, args: string[], extraEnv: Record<string, string> = {}): ChildProcess {
  const child = start(process.execPath, [binPath, ...args], { env: cliEnv(sim, extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.resume();
  return child;
}

/** A yardstick script of bench/bare/ against this server; stdin a pipe when `stdin` (bare/read takes orders there). */
export function startBare(sim: Simulator, name: string, stdin = false): ChildProcess {
  const authorization = `Basic ${Buffer.from(`${sim.credentials.user}:${sim.credentials.password}`).toString('base64')}`;
  const stdio: StdioOptions = [stdin ? 'pipe' : 'ignore', 'pipe', 'inherit'];
  return start(process.execPath, [barePath(name)], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BENCH_URL: sim.url, BENCH_AUTHORIZATION: authorization }, stdio });
}

/** Resolves once the simulator has more than `before` streams opened in all (ids count up from 1). */
export function streamOpened(sim: Simulator, before: number, timeoutMs = 30_000): Promise<number> {
  return sim.waitFor(() => lastStreamId(sim) > before, timeoutMs).then(() => lastStreamId(sim));
}

export const lastStreamId = (sim: Simulator): number => Math.max(0, ...sim.connections().map((c) => c.id));
