// Composition root: the process as IOStreams, signals from the first moment, the command line parsed (program.ts)
// and handed to one command (src/cli/commands/), standard output's failures and the exit code. Each command reads
// its own frozen configuration (command-config.ts); nothing here reads a setting.

import { readFileSync } from 'node:fs';
import { CommanderError, type Command } from 'commander';
import { describeError } from '../errors.js';
import { cleanLines } from '../base/sanitize.js';
import { redactCredentialsIn } from '../term/redact.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { splitHookArgs, type RawHook } from './hook-args.js';
import { processStreams, type CommandContext, type IOStreams } from './io-streams.js';
import { buildProgram } from './program.js';
import { catchSignals, type Interrupts } from './signals.js';
import { guardStdout } from './stdout.js';

const VERSION = readVersion();

/** `interrupts`: bin/ews-watch.js catches signals before it loads this module (see signals.ts); tests hand in a fake. */
export default async function main(io: IOStreams = processStreams(), interrupts: Interrupts = catchSignals()): Promise<number> {
  // One place for standard output's failures, whatever the command: said once, at the end (stdout.ts).
  const out = guardStdout(io.stdout, io.stderr);
  try {
    return await out.settle(await runProgram({ io, interrupts, out }));
  } finally {
    interrupts.dispose();
  }
}

async function runProgram(ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  let code: number = EXIT.ok;
  let hooks: RawHook[] = [];
  // Each command is loaded when it runs: --help and --version load none of them.
  const program = buildProgram(
    {
      watch: async (opts) => void (code = await (await import('./commands/watch.js')).runWatchCommand(ctx, { ...opts, hooks })),
      demo: async (opts) => void (code = await (await import('./commands/demo.js')).runDemoCommand(ctx, { ...opts, hooks })),
      login: async (opts) => void (code = await (await import('./commands/login.js')).runLoginCommand(ctx, opts)),
      logout: async (opts) => void (code = await (await import('./commands/logout.js')).runLogoutCommand(ctx, opts)),
      check: async (opts) => void (code = await (await import('./commands/check.js')).runCheckCommand(ctx, opts)),
    },
    VERSION,
  );
  configureOutput(program, io);
  try {
    const split = splitHookArgs(io.argv, valueFlagsOf(program));
    hooks = split.hooks;
    await program.parseAsync(split.argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    io.stderr.write(`ews-watch: ${cleanLines(redactCredentialsIn(describeError(err)))}\n`);
    return exitCodeFor(err);
  }
  return code;
}

/** commander writes to our streams, in our one-line style, and throws instead of exiting the process. */
function configureOutput(program: Command, io: IOStreams): void {
  const output = {
    writeOut: (s: string) => void io.stdout.write(s),
    writeErr: (s: string) => void io.stderr.write(s),
    // Help is wrapped to the terminal it goes to (commander would ask process.stdout).
    getOutHelpWidth: () => (io.stdout.isTTY ? io.stdout.columns : undefined) as number,
    getErrHelpWidth: () => (io.stderr.isTTY ? io.stderr.columns : undefined) as number,
    // One line, as every other error: commander's "\n(Did you mean --json?)" joins it.
    outputError: (s: string, write: (s: string) => void) => write(`ews-watch: ${s.replace(/^error: /, '').replace(/\n\(Did you mean (.+)\)\n$/, ' (did you mean $1)\n')}`),
  };
  // Subcommands added with addCommand() inherit none of this: without it `demo --bogus` lost the prefix.
  for (const cmd of [program, ...program.commands]) cmd.exitOverride().configureOutput(output);
}

/** The long options that take a value, on the program and its subcommands (so hook-args skips their values). */
function valueFlagsOf(program: Command): Set<string> {
  const flags = new Set<string>();
  for (const cmd of [program, ...program.commands]) {
    for (const opt of cmd.options) if ((opt.required || opt.optional) && opt.long) flags.add(opt.long);
  }
  return flags;
}

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return '0.0.0';
  }
}
