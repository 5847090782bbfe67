// SIGINT and SIGTERM from the first moment: bin/ews-watch.js calls catchSignals() before it loads the rest of the
// program (which takes a few hundred milliseconds), so a signal at any moment is an orderly stop, never a death.
// The first one aborts `signal` and says so; a second SIGINT exits 130 at once. Imports next to nothing, to load fast.
// SIGHUP is caught only while a command asks for it (many mailboxes: read the list again); otherwise it keeps its
// default, so closing the terminal of a one-mailbox watch still ends it as before.

import { EXIT } from './exit-codes.js';

export type StopSignal = 'SIGINT' | 'SIGTERM';

/** The parts of `process` this needs (a fake in tests). */
export interface SignalProcess {
  readonly pid: number;
  on(event: StopSignal | 'SIGHUP', fn: (sig: StopSignal) => void): unknown;
  off(event: StopSignal | 'SIGHUP', fn: (sig: StopSignal) => void): unknown;
  kill(pid: number, sig: StopSignal): unknown;
  exit(code: number): never;
}

export interface Interrupts {
  /** Aborted by the first SIGINT or SIGTERM; the reason is the signal's name. */
  readonly signal: AbortSignal;
  /**
   * The watching command takes over the terminal: the "stopping" line goes through `write` (so it does not tear
   * the status line), is also shown on a stderr that is not a terminal when `verbose`, and `beforeExit` runs
   * before a forced exit. A signal that came before is announced now if it could not be seen then.
   */
  attach(o: { write(line: string): void; verbose: boolean; beforeExit(): void }): void;
  /** Signals kill again (for commands with no orderly stop: login, logout, check); one already caught is raised again. */
  handOver(): void;
  /** Signals kill again; nothing is raised (the orderly stop is over). */
  dispose(): void;
  /** SIGHUP calls `fn` (instead of ending the process) until the returned function is called, or dispose(). */
  onHangup(fn: () => void): () => void;
}

export function stoppingLine(sig: StopSignal): string {
  return sig === 'SIGINT' ? 'ews-watch: stopping (Ctrl-C again to force)\n' : 'ews-watch: stopping (SIGTERM)\n';
}

export function catchSignals(proc: SignalProcess = process as SignalProcess, stderr: { isTTY?: boolean; write(s: string): unknown } = process.stderr): Interrupts {
  const stop = new AbortController();
  let first: StopSignal | undefined;
  let said = false;
  let installed = true;
  let owner: { write(line: string): void; verbose: boolean; beforeExit(): void } | undefined;
  // A person pressed Ctrl-C (or a program sent SIGTERM) and wants to know it worked: said at once on a terminal,
  // whatever --quiet; on a log file only with -v. On a terminal the line starts with a carriage return, over the
  // "^C" the terminal itself echoed.
  const announce = (): void => {
    if (said || first === undefined) return;
    const tty = stderr.isTTY === true;
    if (tty || owner?.verbose === true) {
      said = true;
      (owner ? owner.write : (l: string) => void stderr.write(l))(`${tty ? '\r' : ''}${stoppingLine(first)}`);
    }
  };
  const onSignal = (sig: StopSignal): void => {
    if (first !== undefined) {
      if (sig !== 'SIGINT') return;
      owner?.beforeExit();
      proc.exit(EXIT.interrupted);
    }
    first = sig;
    // Stop first: a password prompt ends its line then, and the announcement starts a fresh one.
    stop.abort(sig);
    announce();
  };
  let hangup: (() => void) | undefined;
  const onHangup = (): void => hangup?.();
  const offHangup = (): void => {
    if (hangup === undefined) return;
    hangup = undefined;
    proc.off('SIGHUP', onHangup);
  };
  const remove = (): void => {
    offHangup();
    if (!installed) return;
    installed = false;
    proc.off('SIGINT', onSignal);
    proc.off('SIGTERM', onSignal);
  };
  proc.on('SIGINT', onSignal);
  proc.on('SIGTERM', onSignal);
  return {
    signal: stop.signal,
    attach(o) {
      owner = o;
      announce();
    },
    handOver() {
      remove();
      if (first !== undefined) proc.kill(proc.pid, first);
    },
    dispose() {
      owner = undefined;
      remove();
    },
    onHangup(fn) {
      if (hangup === undefined) proc.on('SIGHUP', onHangup);
      hangup = fn;
      return () => {
        if (hangup === fn) offHangup();
      };
    },
  };
}
