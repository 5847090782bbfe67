// `npm run conformance`: the maintainers' check of ews-watch against a real Exchange server (or, with --simulator,
// the built-in simulated one on loopback). Refuses to write anywhere real without EWS_CONFORMANCE=yes; stops and
// cleans up on Ctrl-C (a second Ctrl-C leaves at once). Exit 0: passed; 1: failed (or could not run); 2: refused
// or misconfigured; 130: interrupted. See README, "Conformance against a real server".

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Env } from '../src/cli/config.js';
import type { IOStreams as Io } from '../src/cli/io-streams.js';
import { UsageError } from '../src/errors.js';
import { startSimulator } from '../src/simulator/index.js';
import type { Simulator } from '../src/simulator/types.js';
import { createLogger } from '../src/term/logger.js';
import { runConformance, SCRATCH_PREFIX, type StartCli } from './harness.js';
import { connectTarget } from './target.js';
// The run's random choices, replayable with --seed: the same generator the chaos test uses.
import { seededRandom } from '../test/support/random.js';

const USAGE = `usage: npm run conformance -- [--simulator] [--changes N] [--seed N] [--remove-leftovers | --keep-leftovers]

Runs about 40 changes in a scratch folder tree of the mailbox named by the environment (EWS_URL, EWS_USER,
EWS_MAILBOX, EWS_AUTH, the password as ews-watch finds it) while ews-watch watches it and is killed and restarted
twice, then checks that every change was printed once. Needs EWS_CONFORMANCE=yes. --simulator runs the same
against the built-in simulated Exchange instead (no consent needed).`;

interface Args {
  simulator: boolean;
  changes: number;
  seed: number;
  leftovers: 'ask' | 'remove' | 'keep';
  /** Self-test: the simulator loses the last change (a create), which the run must report as missed. */
  fault?: 'lose-one';
  help: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { simulator: false, changes: 40, seed: Math.floor(Math.random() * 1e9), leftovers: 'ask', help: false };
  const number = (flag: string, value: string | undefined, min: number, max: number): number => {
    const n = Number(value);
    if (value === undefined || !Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} takes a whole number from ${min} to ${max}`);
    return n;
  };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i]!;
    if (a === '--simulator') args.simulator = true;
    else if (a === '--changes') args.changes = number(a, argv[++i], 30, 1000);
    else if (a === '--seed') args.seed = number(a, argv[++i], 0, 2 ** 31 - 1);
    else if (a === '--remove-leftovers') args.leftovers = 'remove';
    else if (a === '--keep-leftovers') args.leftovers = 'keep';
    else if (a === '--simulator-fault' && argv[i + 1] === 'lose-one') [args.fault, i] = ['lose-one', i + 1];
    else if (a === '--help' || a === '-h') args.help = true;
    else throw new UsageError(`unknown argument ${JSON.stringify(a)} (see --help)`);
  }
  if (args.fault && !args.simulator) throw new UsageError('--simulator-fault needs --simulator');
  return args;
}


export interface MainDeps {
  env: Env;
  io: Io;
  startCli: StartCli;
  signal: AbortSignal;
  /** The simulator of a --simulator run, once started (tests look into its mailbox). */
  onSimulator?(sim: Simulator): void;
}

export async function conformanceMain(argv: readonly string[], deps: MainDeps): Promise<number> {
  const say = (line: string): void => void deps.io.stderr.write(`ews-watch conformance: ${line}\n`);
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    say((err as Error).message);
    return 2;
  }
  if (args.help) {
    deps.io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!args.simulator && deps.env.EWS_CONFORMANCE !== 'yes') {
    say(`refusing to write to ${deps.env.EWS_URL || 'the mailbox in EWS_URL'}: this creates a folder tree "${SCRATCH_PREFIX}<date> #<tag>" under the mailbox root with about 40 drafts, changes, moves and deletes them (some into Deleted Items), then removes it; set EWS_CONFORMANCE=yes to consent, or pass --simulator`);
    return 2;
  }
  const sim = args.simulator ? await startSimulator({ heartbeatMs: 500 }) : undefined;
  if (sim) deps.onSimulator?.(sim);
  const stateDir = mkdtempSync(join(tmpdir(), 'ews-watch-conformance-'));
  try {
    return await runAgainst(args, deps, sim, stateDir, say);
  } catch (err) {
    if (deps.signal.aborted) {
      say('interrupted; what it made was removed');
      return 130;
    }
    say(err instanceof Error ? err.message : String(err));
    return err instanceof UsageError ? 2 : 1;
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
    await sim?.close();
  }
}

async function runAgainst(args: Args, deps: MainDeps, sim: Simulator | undefined, stateDir: string, say: (line: string) => void): Promise<number> {
  // The simulator is reached through the same configuration code as a real server: only the environment differs.
  const simEnv = sim && { EWS_URL: sim.url, EWS_AUTH: 'basic', EWS_USER: sim.credentials.user, EWS_PASSWORD: sim.credentials.password };
  const env: Env = simEnv ?? deps.env;
  const logger = createLogger((t) => void deps.io.stderr.write(t), 0, 'ews-watch conformance');
  const target = await connectTarget({ ...deps.io, env }, logger);
  const random = seededRandom(args.seed);
  const knobs = sim
    ? { EWS_WATCH_QUIET_SYNC_MS: '300', EWS_WATCH_SYNC_PAGE_SIZE: '4' }
    : { EWS_WATCH_QUIET_SYNC_MS: '2000', EWS_WATCH_SYNC_PAGE_SIZE: '8' };
  const base = sim ? { PATH: deps.env.PATH ?? '/usr/bin:/bin', HOME: deps.env.HOME ?? tmpdir(), ...simEnv } : definedOnly(deps.env);
  try {
    const result = await runConformance({
      client: target.client,
      startCli: deps.startCli,
      cliEnv: { ...base, ...knobs },
      cliArgs: [...(sim ? ['--heartbeat-timeout', '2'] : []), ...target.cliArgs],
      ...(target.cliStdin !== undefined ? { cliStdin: target.cliStdin } : {}),
      stateDir,
      target: sim ? `the simulator (${sim.url})` : target.describe,
      changes: args.changes,
      seed: args.seed,
      random,
      pace: sim ? [60, 160] : [150, 500],
      settleMs: sim ? 1500 : 8000,
      now: () => Date.now(),
      started: new Date(),
      tag: randomBytes(2).toString('hex'),
      write: (line) => void deps.io.stdout.write(`${line}\n`),
      progress: say,
      lastRaw: target.lastRaw,
      removeLeftovers: (names) => decideLeftovers(args, deps, names, say),
      signal: deps.signal,
      ...(args.fault === 'lose-one' && sim
        ? { beforeChange: (i: number, _kind: string, total: number) => (i === total - 1 ? (sim.loseNextCreated(), 'create' as const) : undefined) }
        : {}),
    });
    if (!result.cleanedUp) say('some of what this run made is still there (see above)');
    return result.passed && result.cleanedUp ? 0 : 1;
  } finally {
    await target.close();
  }
}

function definedOnly(env: Env): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Leftover scratch trees: removed with --remove-leftovers or a "y" on a terminal; else listed and kept. */
async function decideLeftovers(args: Args, deps: MainDeps, names: string[], say: (line: string) => void): Promise<boolean> {
  say(`found ${names.length} scratch tree(s) of earlier interrupted runs: ${names.map((n) => JSON.stringify(n)).join(', ')}`);
  if (args.leftovers !== 'ask') return args.leftovers === 'remove';
  if (!deps.io.stdin.isTTY || !deps.io.stderr.isTTY) {
    say('pass --remove-leftovers to remove them (they are kept)');
    return false;
  }
  const rl = createInterface({ input: deps.io.stdin, output: deps.io.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question('Remove them? [y/N] ')).trim());
  } finally {
    rl.close();
  }
}

/** The real watchers: bin/ews-watch.js as a user runs it. */
function spawnCli(binPath: string): StartCli {
  return (args, o) => {
    const child = spawn(process.execPath, [binPath, ...args], { env: o.env, stdio: 'pipe' });
    child.stdin.on('error', () => undefined);
    child.stdin.end(o.stdin ?? '');
    const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    return { child, result: () => done };
  };
}

async function runFromCommandLine(): Promise<void> {
  const controller = new AbortController();
  let interrupts = 0;
  process.on('SIGINT', () => {
    interrupts += 1;
    if (interrupts > 1) {
      process.stderr.write('ews-watch conformance: leaving at once: the scratch folder may be left in the mailbox (the next run finds it and offers to remove it)\n');
      process.exit(130);
    }
    process.stderr.write('\news-watch conformance: stopping; removing what this run made (Ctrl-C again to leave it)\n');
    controller.abort(new Error('interrupted'));
  });
  const binPath = fileURLToPath(new URL('../../bin/ews-watch.js', import.meta.url));
  const io: Io = { argv: process.argv.slice(2), env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() };
  process.exitCode = await conformanceMain(process.argv.slice(2), { env: process.env, io, startCli: spawnCli(binPath), signal: controller.signal });
  // readline or a keep-alive socket must not hold the process open after the report.
  process.exit(process.exitCode);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await runFromCommandLine();
