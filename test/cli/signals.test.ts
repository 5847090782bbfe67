// catchSignals() against a fake process: the first signal stops in order and says so, a second SIGINT forces 130.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { catchSignals, type SignalProcess, type StopSignal } from '../../src/cli/signals.js';

class Exited extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function fakeProcess(): SignalProcess & { emitter: EventEmitter; kills: Array<[number, StopSignal]>; send(sig: StopSignal): void } {
  const emitter = new EventEmitter();
  const kills: Array<[number, StopSignal]> = [];
  return {
    pid: 4242,
    emitter,
    kills,
    on: (e, fn) => emitter.on(e, fn),
    off: (e, fn) => emitter.off(e, fn),
    kill: (pid, sig) => void kills.push([pid, sig]),
    exit: (code) => {
      throw new Exited(code);
    },
    send: (sig) => void emitter.emit(sig, sig),
  };
}

function tty(isTTY: boolean): { isTTY: boolean; lines: string[]; write(s: string): void } {
  const lines: string[] = [];
  return { isTTY, lines, write: (s) => void lines.push(s) };
}

describe('signals', () => {
  it('the first Ctrl-C on a terminal: stops (signal aborted with SIGINT) and says so at once, even before a command took over', () => {
    const proc = fakeProcess();
    const err = tty(true);
    const interrupts = catchSignals(proc, err);
    assert.equal(proc.emitter.listenerCount('SIGINT'), 1);
    assert.equal(proc.emitter.listenerCount('SIGTERM'), 1);
    proc.send('SIGINT');
    assert.equal(interrupts.signal.aborted, true);
    assert.equal(interrupts.signal.reason, 'SIGINT');
    // From the start of the line, over the "^C" the terminal echoed.
    assert.deepEqual(err.lines, ['\rews-watch: stopping (Ctrl-C again to force)\n']);
    // Attaching later does not say it twice.
    const via: string[] = [];
    interrupts.attach({ write: (l) => via.push(l), verbose: true, beforeExit: () => undefined });
    assert.deepEqual(via, []);
  });

  it('once a command took over, the line goes through its writer (the status line); SIGTERM says which signal', () => {
    const proc = fakeProcess();
    const err = tty(true);
    const interrupts = catchSignals(proc, err);
    const via: string[] = [];
    interrupts.attach({ write: (l) => via.push(l), verbose: false, beforeExit: () => undefined });
    proc.send('SIGTERM');
    assert.deepEqual(via, ['\rews-watch: stopping (SIGTERM)\n']);
    assert.deepEqual(err.lines, []);
    assert.equal(interrupts.signal.reason, 'SIGTERM');
  });

  it('stderr not a terminal: said only with -v (a log file gets no chatter); a signal before -v was known is said when it is', () => {
    const quiet = fakeProcess();
    const q = catchSignals(quiet, tty(false));
    const qLines: string[] = [];
    q.attach({ write: (l) => qLines.push(l), verbose: false, beforeExit: () => undefined });
    quiet.send('SIGINT');
    assert.deepEqual(qLines, []);
    assert.equal(q.signal.aborted, true);

    const early = fakeProcess();
    const e = catchSignals(early, tty(false));
    early.send('SIGTERM');
    const eLines: string[] = [];
    e.attach({ write: (l) => eLines.push(l), verbose: true, beforeExit: () => undefined });
    assert.deepEqual(eLines, ['ews-watch: stopping (SIGTERM)\n']);
  });

  it('a second SIGINT clears the status line and exits 130 at once; a second SIGTERM changes nothing', () => {
    const proc = fakeProcess();
    const interrupts = catchSignals(proc, tty(false));
    const calls: string[] = [];
    interrupts.attach({ write: () => undefined, verbose: false, beforeExit: () => calls.push('beforeExit') });
    proc.send('SIGTERM');
    proc.send('SIGTERM');
    assert.deepEqual(calls, []);
    assert.throws(() => proc.send('SIGINT'), (e: unknown) => e instanceof Exited && e.code === 130);
    assert.deepEqual(calls, ['beforeExit']);
  });

  it('SIGHUP: not caught until a command asks (onHangup), then calls it instead of ending; removed by its remover or dispose()', () => {
    const proc = fakeProcess();
    const a = catchSignals(proc, tty(false));
    assert.equal(proc.emitter.listenerCount('SIGHUP'), 0, 'the default (the end of the process) until asked');
    let calls = 0;
    const off = a.onHangup(() => void calls++);
    proc.emitter.emit('SIGHUP', 'SIGHUP');
    proc.emitter.emit('SIGHUP', 'SIGHUP');
    assert.equal(calls, 2);
    assert.equal(a.signal.aborted, false, 'a SIGHUP is no stop');
    off();
    assert.equal(proc.emitter.listenerCount('SIGHUP'), 0);
    a.onHangup(() => void calls++);
    a.dispose();
    assert.equal(proc.emitter.listenerCount('SIGHUP'), 0);
    assert.equal(calls, 2);
  });

  it('handOver(): signals kill again, and one caught before is raised again; dispose() raises nothing', () => {
    const proc = fakeProcess();
    const a = catchSignals(proc, tty(false));
    proc.send('SIGTERM');
    a.handOver();
    assert.deepEqual(proc.kills, [[4242, 'SIGTERM']]);
    assert.equal(proc.emitter.listenerCount('SIGINT') + proc.emitter.listenerCount('SIGTERM'), 0);

    const proc2 = fakeProcess();
    const b = catchSignals(proc2, tty(false));
    b.handOver();
    assert.deepEqual(proc2.kills, []);

    const proc3 = fakeProcess();
    const c = catchSignals(proc3, tty(false));
    proc3.send('SIGINT');
    c.dispose();
    c.dispose();
    assert.deepEqual(proc3.kills, []);
    assert.equal(proc3.emitter.listenerCount('SIGINT') + proc3.emitter.listenerCount('SIGTERM'), 0);
  });
});
