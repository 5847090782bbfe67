// End-to-end latency: the built CLI in its own process against the simulator over real HTTP on 127.0.0.1, one new
// mail at a time; from the moment the simulator is told to deliver it (it writes the envelope on the open stream
// right away) to the moment its last line appears on the CLI's stdout; p50 and p99. (Throughput under a burst, against
// a bare reader in the same run, is sections/burst.ts.) Printed as figures of one run; no assertion.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startSimulator } from '../src/simulator/index.js';
import { start } from './support/children.js';

const LATENCY_MAILS = Number(process.env.BENCH_LATENCY_MAILS ?? 400);
const EVENTS_PER_MAIL = 3;

const bin = fileURLToPath(new URL('../../bin/ews-watch.js', import.meta.url));

async function main(): Promise<void> {
  const sim = await startSimulator({ heartbeatMs: 60_000 });
  // Its own sync-state directory, so the bench neither meets nor leaves state in ~/.local/state.
  const stateHome = mkdtempSync(join(tmpdir(), 'ews-watch-bench-'));
  process.on('exit', () => rmSync(stateHome, { recursive: true, force: true }));
  const child = start(process.execPath, [bin, '--json', '-q'], {
    env: { PATH: process.env.PATH, EWS_URL: sim.url, EWS_AUTH: 'basic', EWS_USER: sim.credentials.user, EWS_PASSWORD: sim.credentials.password, XDG_STATE_HOME: stateHome },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let lines = 0;
  let partial = '';
  let waiter: { target: number; resolve: () => void } | undefined;
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop() ?? '';
    lines += parts.length;
    if (waiter && lines >= waiter.target) {
      const w = waiter;
      waiter = undefined;
      w.resolve();
    }
  });
  const untilLines = (target: number): Promise<void> =>
    lines >= target ? Promise.resolve() : new Promise((resolve) => (waiter = { target, resolve }));

  await sim.waitFor(() => sim.connections().length > 0, 15_000);
  // Warm-up: the first mails pay for JIT and connection set-up.
  for (let i = 0; i < 20; i++) {
    sim.deliverMail({ subject: `warm-up ${i}` });
    await untilLines(lines + EVENTS_PER_MAIL);
  }

  const latencies: number[] = [];
  for (let i = 0; i < LATENCY_MAILS; i++) {
    const target = lines + EVENTS_PER_MAIL;
    const t0 = performance.now();
    sim.deliverMail({ subject: `latency ${i}` });
    await untilLines(target);
    latencies.push(performance.now() - t0);
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];

  child.kill('SIGINT');
  await new Promise((r) => child.on('close', r));
  await sim.close();

  console.log('end to end (CLI process ← simulator over HTTP on 127.0.0.1)');
  console.log(`  latency, deliver → last line on stdout, ${LATENCY_MAILS} mails one at a time:`);
  console.log(`    p50 ${pct(50).toFixed(2)} ms   p99 ${pct(99).toFixed(2)} ms   max ${latencies[latencies.length - 1].toFixed(2)} ms`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
