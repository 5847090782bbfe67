// Many mailboxes (issue 14, "Done when"): one CLI watching BENCH_FLEET_MAILBOXES (default 1,000) mailboxes of a
// simulated farm on 2 backends (--mailboxes-file, --events NewMail, --json), and as the yardstick the same CLI
// watching ONE mailbox (today's watch) on a simulator of its own, started first and measured in the same windows.
// Figures, each read out of process or from the simulator's request log:
//  - start-up: spawn → every mailbox subscribed and baselined (its SyncFolderItems answered) and every subscription
//    on an open stream (the last group's GetStreamingEvents open);
//  - the most requests in flight at any moment: requestsInFlight + openStreams of every request the farm logged
//    (a GetStreamingEvents counted with itself), over the whole run; target ≤ 10 (Exchange's advice);
//  - idle CPU per minute over BENCH_FLEET_IDLE_SECONDS (default 120: four heartbeats on each stream, so that one
//    heartbeat more or less does not swing the figure), starting BENCH_FLEET_SETTLE_SECONDS (default 120) after the
//    last stream opened; target ≤ 2× the one mailbox, measured in the same window. The first minute after the
//    start-up is reported too, for information: starting 1,000 mailboxes allocates a lot, and V8 then collects in
//    small steps for about two minutes (measured in 30 s windows: 3.5-5.8 ms/min in the first two and a half
//    minutes, then 3.2-3.4, against 1.5-2.5 for one mailbox), too little per 5 s for a "quiet for 5 s" test to see;
//    a watcher left running for days idles as it does after that, not as it does in its first minute. And per
//    stream, for information: each stream's heartbeats wake the process, and 1,000 mailboxes need at least five
//    streams (200 a group);
//  - a burst of BENCH_FLEET_MAILS_EACH (default 5) mails to each mailbox: every NewMail printed exactly once
//    (mailbox + itemId, against the ids delivered), and events/s from the first delivery to the last line;
//  - peak RSS (VmHWM) through start-up, baseline, idle and the burst; target < 150 MB.
// BENCH_FLEET_MAILBOXES, BENCH_FLEET_MAILS_EACH, BENCH_FLEET_NODE_OPTIONS (the many-mailbox CLI's only) change the run.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ChildProcess } from 'node:child_process';
import type { Simulator } from '../../src/simulator/types.js';
import { readLines, start, stop } from '../support/children.js';
import { num, report, sleep } from '../support/figures.js';
import { cpuBetween, memoryOf, sampleCpu } from '../support/proc.js';
import { binPath, cliEnv, HEARTBEAT_MS, startBenchSim, tempDir } from '../support/sim.js';

const MAILBOXES = Number(process.env.BENCH_FLEET_MAILBOXES ?? 1000);
const MAILS_EACH = Number(process.env.BENCH_FLEET_MAILS_EACH ?? 5);
const WINDOW_S = Number(process.env.BENCH_FLEET_IDLE_SECONDS ?? 120);
const SETTLE_S = Number(process.env.BENCH_FLEET_SETTLE_SECONDS ?? 120);
/** The first minute after the start-up, reported for information (within SETTLE_S when that is longer). */
const FIRST_S = Math.min(60, SETTLE_S);
const START_TIMEOUT_MS = Number(process.env.BENCH_FLEET_START_SECONDS ?? 180) * 1000;
const BURST_TIMEOUT_MS = Number(process.env.BENCH_BURST_TIMEOUT_SECONDS ?? 180) * 1000;
const MB = 1e6;
/** NODE_OPTIONS for the many-mailbox CLI only, to try a tuning (e.g. --max-semi-space-size=4); none by default. */
const NODE_OPTIONS = process.env.BENCH_FLEET_NODE_OPTIONS ?? '';

/** What the farm's request log says, kept as each request arrives (the log is unbounded, `requests` is not). */
interface FarmLog {
  maxInFlight: number;
  /** The request (operation, seq) that met maxInFlight first. */
  maxAt: string;
  ops: Map<string, number>;
  /** Lower-cased mailboxes whose SyncFolderItems arrived, and when the last new one did (performance.now()). */
  synced: Set<string>;
  lastSyncAt: number;
}

function watchLog(sim: () => Simulator | undefined, log: FarmLog): (line: string) => void {
  return (line) => {
    const s = sim();
    if (!s || !/^POST /.test(line)) return;
    // The log line is written right after the request is recorded: the last one recorded is this one.
    const r = s.requests[s.requests.length - 1];
    if (!r) return;
    log.ops.set(r.operation, (log.ops.get(r.operation) ?? 0) + 1);
    const inFlight = r.requestsInFlight + r.openStreams + (r.operation === 'GetStreamingEvents' ? 1 : 0);
    if (inFlight > log.maxInFlight) (log.maxInFlight = inFlight), (log.maxAt = `${r.operation} #${r.seq}`);
    if (r.operation === 'SyncFolderItems' && r.impersonated) {
      const key = r.impersonated.toLowerCase();
      if (!log.synced.has(key)) (log.synced.add(key), (log.lastSyncAt = performance.now()));
    }
  };
}

/** Subscriptions on open streams, summed (each mailbox has one). */
const streamed = (sim: Simulator): number => sim.connections().reduce((n, c) => n + c.subscriptionIds.length, 0);

function startWatcher(sim: Simulator, args: string[], stderr: string[], env: Record<string, string> = {}): ChildProcess {
  const child = start(process.execPath, [binPath, '--json', '--events', 'NewMail', ...args], { env: cliEnv(sim, env), stdio: ['ignore', 'pipe', 'pipe'] });
  // The last lines of stderr, for a failure's message.
  readLines(child.stderr!, { onLine: (l) => void (stderr.push(l), stderr.length > 20 && stderr.shift()) });
  return child;
}

/** CPU per minute of both processes over the next `seconds` (schedstat, every thread). */
async function idleWindow(fleetPid: number, onePid: number, seconds: number): Promise<{ fleet: number; one: number; fleetSwitches: number; oneSwitches: number; source: string }> {
  const cpu0 = { fleet: sampleCpu(fleetPid), one: sampleCpu(onePid) };
  const w0 = performance.now();
  await sleep(seconds * 1000);
  const perMin = 60_000 / (performance.now() - w0);
  const fleet = cpuBetween(cpu0.fleet, sampleCpu(fleetPid));
  const one = cpuBetween(cpu0.one, sampleCpu(onePid));
  return { fleet: fleet.cpuMs * perMin, one: one.cpuMs * perMin, fleetSwitches: fleet.switches * perMin, oneSwitches: one.switches * perMin, source: fleet.source };
}

/** MAILS_EACH mails to every mailbox, round after round; each delivered id kept as "mailbox itemId". */
async function deliverAcross(sim: Simulator, mailboxes: readonly string[], delivered: Set<string>): Promise<void> {
  let n = 0;
  for (let round = 0; round < MAILS_EACH; round++) {
    for (const address of mailboxes) {
      const change = sim.mailbox(address).deliverMail({ subject: `fleet burst ${round}` });
      delivered.add(`${address.toLowerCase()} ${change.item!.id}`);
      if (++n % 200 === 0) await new Promise((r) => setImmediate(r));
    }
  }
}

export async function fleet(): Promise<void> {
  console.log(`\nfleet: ${MAILBOXES} mailboxes on 2 backends in one process (--mailboxes-file, --events NewMail${NODE_OPTIONS ? `, NODE_OPTIONS=${NODE_OPTIONS}` : ''}) against the same CLI watching one mailbox; heartbeats every ${HEARTBEAT_MS / 1000} s on every stream`);
  const log: FarmLog = { maxInFlight: 0, maxAt: '', ops: new Map(), synced: new Set(), lastSyncAt: 0 };
  let farmSim: Simulator | undefined;
  const farm = await startBenchSim({ mailboxes: MAILBOXES, backends: 2, log: watchLog(() => farmSim, log) });
  farmSim = farm.sim;
  const one = await startBenchSim();
  const children: ChildProcess[] = [];
  const errFleet: string[] = [];
  const errOne: string[] = [];
  try {
    const mailboxes = farm.sim.mailboxes.slice(1);
    const list = join(tempDir('ews-watch-bench-fleet-'), 'mailboxes');
    writeFileSync(list, `${mailboxes.join('\n')}\n`);

    // The yardstick first, so that its start-up does not share the CPU with the fleet's.
    const single = startWatcher(one.sim, [], errOne);
    children.push(single);
    single.stdout!.resume();
    await one.sim.waitFor(() => one.sim.connections().length >= 1, 30_000).catch(() => {
      throw new Error(`the one-mailbox CLI did not open its stream: ${errOne.join(' | ')}`);
    });

    const t0 = performance.now();
    const cli = startWatcher(farm.sim, ['--mailboxes-file', list], errFleet, NODE_OPTIONS ? { NODE_OPTIONS } : {});
    children.push(cli);
    const lines = readLines(cli.stdout!, { keep: true });
    let allStreamedAt = 0;
    await farm.sim
      .waitFor(() => {
        if (streamed(farm.sim) < MAILBOXES || log.synced.size < MAILBOXES) return false;
        allStreamedAt ||= performance.now();
        return true;
      }, START_TIMEOUT_MS)
      .catch(() => {
        throw new Error(`after ${START_TIMEOUT_MS / 1000} s, ${log.synced.size} mailboxes synced and ${streamed(farm.sim)} streamed: ${errFleet.join(' | ')}`);
      });
    const started = memoryOf(cli.pid!)!;
    const ops = ['Subscribe', 'GetFolder', 'SyncFolderItems', 'GetStreamingEvents'].map((op) => `${log.ops.get(op) ?? 0} ${op}`).join(', ');
    console.log(`  start-up: last baseline SyncFolderItems ${num((log.lastSyncAt - t0) / 1000)} s, every subscription on an open stream ${num((allStreamedAt - t0) / 1000)} s after spawn, on ${farm.sim.connections().length} streams; ${ops}`);
    console.log(`  RSS ${num(started.rss / MB)} MB after the start-up (peak so far ${num(started.peak / MB)} MB); the one mailbox: ${num(memoryOf(single.pid!)!.peak / MB)} MB peak`);

    const first = await idleWindow(cli.pid!, single.pid!, FIRST_S);
    console.log(`  first ${FIRST_S} s after the start-up: ${MAILBOXES} mailboxes ${num(first.fleet)} ms CPU/min, one mailbox ${num(first.one)} ms CPU/min`);
    await sleep((SETTLE_S - FIRST_S) * 1000);
    const idle = await idleWindow(cli.pid!, single.pid!, WINDOW_S);
    console.log(`  idle (${WINDOW_S} s from ${SETTLE_S} s after the start-up): ${MAILBOXES} mailboxes ${num(idle.fleet)} ms CPU/min (${idle.source}), ${num(idle.fleetSwitches)} switches/min; one mailbox ${num(idle.one)} ms CPU/min, ${num(idle.oneSwitches)} switches/min`);
    const afterIdle = memoryOf(cli.pid!)!;

    const delivered = new Set<string>();
    const expected = MAILBOXES * MAILS_EACH;
    const before = lines.count;
    const b0 = performance.now();
    await deliverAcross(farm.sim, mailboxes, delivered);
    const all = await lines.until(() => lines.count >= before + expected, BURST_TIMEOUT_MS);
    const b1 = lines.lastAt;
    // A little longer: a duplicate printed after the last expected line is still counted.
    await sleep(2_000);
    const peak = memoryOf(cli.pid!)!.peak;
    const seen = new Map<string, number>();
    for (const l of lines.lines.slice(before)) {
      const e = JSON.parse(l) as { mailbox?: string; itemId?: string };
      const key = `${e.mailbox?.toLowerCase()} ${e.itemId}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    const once = [...delivered].filter((k) => seen.get(k) === 1).length;
    const twice = [...seen.values()].filter((n) => n > 1).length;
    const stray = [...seen.keys()].filter((k) => !delivered.has(k)).length;
    const rate = expected / ((b1 - b0) / 1000);
    console.log(`  burst: ${expected} mails (${MAILS_EACH} to each mailbox): ${lines.count - before} lines, ${once} printed exactly once, ${twice} more than once, ${stray} not delivered, ${expected - once - twice} missing${all ? `; ${num(rate)} events/s` : ` after ${BURST_TIMEOUT_MS / 1000} s`}`);
    console.log(`  RSS ${num(afterIdle.rss / MB)} MB after idling, peak ${num(peak / MB)} MB through the burst; in flight at most ${log.maxInFlight} (first at ${log.maxAt})`);

    report({ what: `fleet start-up, ${MAILBOXES} mailboxes subscribed + baselined + streamed`, ours: (allStreamedAt - t0) / 1000, unit: 's' });
    report({ what: `fleet peak RSS, ${MAILBOXES} mailboxes incl. burst`, ours: peak / MB, unit: 'MB', target: { op: '<', value: 150 } });
    report({ what: `fleet idle CPU, ${MAILBOXES} mailboxes`, ours: idle.fleet, yardstick: idle.one, against: 'one mailbox', unit: 'ms/min', target: { op: '≤', value: 2 } });
    report({ what: `fleet idle CPU, first ${FIRST_S} s after the start-up`, ours: first.fleet, yardstick: first.one, against: 'one mailbox', unit: 'ms/min' });
    // Heartbeats come per stream (at most 200 mailboxes each), so idle CPU follows the streams, not the mailboxes.
    const streams = Math.max(1, farm.sim.connections().length);
    report({ what: `fleet idle CPU per stream (${streams} streams)`, ours: idle.fleet / streams, yardstick: idle.one, against: 'one mailbox', unit: 'ms/min' });
    report({ what: 'fleet requests in flight at most (farm log)', ours: log.maxInFlight, unit: 'requests', target: { op: '≤', value: 10 } });
    report({ what: `fleet burst events printed exactly once`, ours: once, unit: 'events', target: { op: '=', value: expected }, ...(twice + stray ? { note: `${twice} duplicated, ${stray} stray` } : {}) });
    report({ what: `fleet burst events/s, ${MAILS_EACH} to each mailbox`, ours: all ? rate : 0, unit: 'events/s' });
  } finally {
    await Promise.all(children.map((c) => stop(c, 15_000)));
    await Promise.all([farm.close(), one.close()]);
  }
}
