// `npm run bench`: every figure of issue 13's table, each against its yardstick measured in the same run, both
// out of process (sections/), then the earlier benchmarks (decoder, ledger, end-to-end latency, soak) in their own
// processes; a summary table of every ratio and target at the end. A missed target is printed, never an exit
// status. BENCH_ONLY=idle,burst,… runs some sections only; every process started is killed when this one ends.

import { performance } from 'node:perf_hooks';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { readLines, start } from './support/children.js';
import { reportFailure, summary } from './support/figures.js';
import { haveProc } from './support/proc.js';
import { allFolders } from './sections/folders.js';
import { burst } from './sections/burst.js';
import { enrich } from './sections/enrich.js';
import { fleet } from './sections/fleet.js';
import { idle } from './sections/idle.js';
import { memory } from './sections/memory.js';
import { firstEvent, helpAndVersion } from './sections/startup.js';

const SECTIONS: Record<string, () => Promise<void>> = {
  help: helpAndVersion,
  'first-event': firstEvent,
  idle,
  burst,
  memory,
  enrich,
  folders: allFolders,
  fleet,
};

/** Their verdict lines ("… → target met", "… → not met") go into the summary. */
const VERDICT = /→ (?:target )?(?:not )?met\b/;

/** The earlier benchmarks, each in its own process; the lines matching `summary` go into the summary too. */
const SCRIPTS: Record<string, { file: string; env?: Record<string, string>; summary: RegExp }> = {
  decoder: { file: 'decoder.js', summary: VERDICT },
  ledger: { file: 'ledger.js', summary: VERDICT },
  latency: { file: 'e2e.js', summary: /p50 .* p99 / },
  // Three minutes by default here (minutes 2..3 compared with each other); SOAK_MINUTES=10 for the full soak.
  soak: { file: 'soak.js', env: { SOAK_MINUTES: process.env.SOAK_MINUTES ?? '3' }, summary: VERDICT },
};

const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
const wanted = (name: string): boolean => !only || only.includes(name);

async function runScript(name: string, file: string, summaryLine: RegExp, env: Record<string, string> = {}): Promise<string[]> {
  console.log(`\n${name} (dist/bench/${file})`);
  const child = start(process.execPath, [fileURLToPath(new URL(file, import.meta.url))], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] }, 'SIGTERM');
  const verdicts: string[] = [];
  readLines(child.stdout!, {
    onLine: (line) => {
      console.log(`  ${line}`);
      if (summaryLine.test(line)) verdicts.push(`${name}: ${line.trim()}`);
    },
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) verdicts.push(`${name}: exited ${code}`);
  return verdicts;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  console.log(`ews-watch benchmarks: node ${process.version}, ${cpus().length} CPU(s), load average ${loadavg()[0]!.toFixed(1)} at the start`);
  if (!haveProc()) console.log('(no /proc with schedstat: the out-of-process figures need Linux and are skipped)');
  else {
    for (const [name, section] of Object.entries(SECTIONS)) {
      if (!wanted(name)) continue;
      try {
        await section();
      } catch (err) {
        reportFailure(name, err);
      }
    }
  }
  const verdicts: string[] = [];
  for (const [name, s] of Object.entries(SCRIPTS)) if (wanted(name)) verdicts.push(...(await runScript(name, s.file, s.summary, s.env)));
  console.log(`\nsummary (one run, ${((performance.now() - t0) / 60_000).toFixed(1)} min, load average ${loadavg()[0]!.toFixed(1)} at the end)`);
  for (const line of summary()) console.log(`  ${line}`);
  for (const v of verdicts) console.log(`  ${v}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
