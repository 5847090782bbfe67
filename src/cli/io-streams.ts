// The process as a command sees it: argv, the three streams (with their TTY facts), the environment and the
// working directory. main builds the real one from `process`; tests build a double (test/support/io-streams.ts)
// and run every command in-process. The environment is read by the configuration alone (command-config.ts):
// commands get a frozen config and the terminal facts below, never a variable.

import type { StdoutGuard } from './stdout.js';
import type { Interrupts } from './signals.js';
import type { Env } from './precedence.js';

export interface IOStreams {
  readonly argv: readonly string[];
  readonly env: Env;
  readonly cwd: string;
  readonly stdin: NodeJS.ReadStream;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
}

/** What every command runs with: the streams, the signals that stop it, and standard output's failures. */
export interface CommandContext {
  readonly io: IOStreams;
  readonly interrupts: Interrupts;
  readonly out: StdoutGuard;
}

/** What the terminal allows, from the environment (CI, TERM, NO_COLOR, FORCE_COLOR, COLORTERM); see command-config.ts. */
export interface TerminalConfig {
  /** Not CI, not TERM=dumb: a status line may be drawn where both streams are terminals. */
  readonly statusAllowed: boolean;
  /** The variables colour is decided from (src/term/colour.ts). */
  readonly colourEnv: Env;
}

/** The status line only where a person watches both streams (else it freezes among the data or the log). */
export function canDrawStatus(io: Pick<IOStreams, 'stdout' | 'stderr'>, terminal: TerminalConfig): boolean {
  return io.stdout.isTTY === true && io.stderr.isTTY === true && terminal.statusAllowed;
}

export function processStreams(): IOStreams {
  return { argv: process.argv.slice(2), env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() };
}
