// Soak: the built CLI in its own process against the simulator over HTTP on 127.0.0.1, a new mail every 10 ms
// (3 events each) for SOAK_MINUTES minutes (default 10), with the CLI's resident set printed once a minute.
// Target (issue 10, item 1): memory flat after the first minute. Defined as: the largest of the per-minute RSS
// figures of minutes 2..N is at most 20% above the smallest of them. Each minute's figure is the highest RSS seen
// in that minute (sampled every second), so a minute's garbage-collection saw-tooth cannot hide a rising floor.
// Printed as figures of one run; no assertion (the machine is shared and noisy). Linux only (/proc/<pid>/status).

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startSimulator } from '../src/simulator/index.js';
import { start } from './support/children.js';

const MINUTES = Math.max(2, Number(process.env.SOAK_MINUTES ?? 10));
const MAIL_EVERY_MS = 10;
const EVENTS_PER_MAIL = 3;
const FLAT_WITHIN = 0.2;

const bin = fileURLToPath(new URL('../../bin/ews-watch.js', import.meta.url));

function rssMiB(pid: number): number | undefined {
  try {
    const kib = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib === undefined ? undefined : Number(kib) / 1024;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  if (!existsSync('/proc/self/status')) {
    console.log('soak: skipped (needs /proc to read the CLI process RSS)');
    return;
  }
  // Room for every mail of the run: past its default 10 000 items the simulator drops the oldest, as a retention
  // policy would, and each catch-up would then report thousands of them deleted. That is not normal traffic.
  const sim = await startSimulator({ maxItems: MINUTES * (60_000 / MAIL_EVERY_MS) + 10_000 });
  const stateHome = mkdtempSync(join(tmpdir(), 'ews-watch-soak-'));
  process.on('exit', () => rmSync(stateHome, { recursive: true, force: true }));
  const child = start(process.execPath, [bin, '--json', '-q'], {
    env: { PATH: process.env.PATH, EWS_URL: sim.url, EWS_AUTH: 'basic', EWS_USER: sim.credentials.user, EWS_PASSWORD: sim.credentials.password, XDG_STATE_HOME: stateHome },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let lines = 0;
  child.stdout!.on('data', (d: Buffer) => {
    for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) lines += 1;
  });
  await sim.waitFor(() => sim.connections().length > 0, 15_000);

  console.log(`soak: a new mail every ${MAIL_EVERY_MS} ms for ${MINUTES} min (${EVENTS_PER_MAIL} events each); CLI RSS per minute (the minute's highest, sampled each second)`);
  const pid = child.pid!;
  const t0 = performance.now();
  let delivered = 0;
  let minutePeak = 0;
  const perMinute: number[] = [];
  const mails = setInterval(() => {
    // Paced by the clock, not by the timer's ticks: late ticks deliver what is due (at most a second's worth).
    const due = Math.floor((performance.now() - t0) / MAIL_EVERY_MS);
    for (let n = 0; delivered < due && n < 1000 / MAIL_EVERY_MS; n++) sim.deliverMail({ subject: `soak ${++delivered}` });
  }, MAIL_EVERY_MS);
  await new Promise<void>((resolve) => {
    const sampler = setInterval(() => {
      minutePeak = Math.max(minutePeak, rssMiB(pid) ?? 0);
      const minute = Math.floor((performance.now() - t0) / 60_000);
      if (minute <= perMinute.length) return;
      perMinute.push(minutePeak);
      const behind = delivered * EVENTS_PER_MAIL - lines;
      console.log(`  minute ${String(perMinute.length).padStart(2)}: RSS ${minutePeak.toFixed(1)} MiB   mails ${delivered}   events printed ${lines}${behind > 0 ? ` (${behind} behind)` : ''}`);
      minutePeak = 0;
      if (perMinute.length >= MINUTES) {
        clearInterval(sampler);
        resolve();
      }
    }, 1000);
  });
  clearInterval(mails);
  const caughtUp = await sim.waitFor(() => lines >= delivered * EVENTS_PER_MAIL, 60_000).then(() => true, () => false);
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  await sim.close();

  const after = perMinute.slice(1);
  const low = Math.min(...after);
  const high = Math.max(...after);
  const spread = (high - low) / low;
  console.log(`  every event printed: ${caughtUp ? 'yes' : 'no'} (${lines} of ${delivered * EVENTS_PER_MAIL}); exit ${code}`);
  console.log(`  minutes 2..${MINUTES}: ${low.toFixed(1)} to ${high.toFixed(1)} MiB, ${(spread * 100).toFixed(1)}% above the lowest; minute 1: ${perMinute[0]!.toFixed(1)} MiB`);
  console.log(`RSS flat within ${FLAT_WITHIN * 100}% after the first minute → ${spread <= FLAT_WITHIN && caughtUp ? 'met' : 'not met'}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
