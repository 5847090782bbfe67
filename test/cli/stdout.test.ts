// guardStdout() against writable streams that fail as /dev/full (ENOSPC), a closed pipe (EPIPE) and a full socket
// (ENOBUFS, after lines waited in the stream's buffer) do; the lines of a turn in one write; a slow reader's back-pressure.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { guardStdout, StdoutFailed, STDOUT_MARKS } from '../../src/cli/stdout.js';

function errno(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/** Accepts `okWrites` writes, then fails every write synchronously with `err` (as Node's stdout does on POSIX). */
function failing(err: NodeJS.ErrnoException, okWrites = 0): Writable & { written: string[] } {
  const written: string[] = [];
  let n = 0;
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (n++ < okWrites) {
        written.push(chunk.toString());
        cb();
      } else cb(err);
    },
  });
  return Object.assign(w, { written });
}

/** The microtask that writes the lines of a turn, and the callbacks of writes that complete at once. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A socket whose reader is slow: each write completes only when the test says so. */
function slowReader(): Writable & { pending: Array<(err?: Error) => void>; written: string[] } {
  const pending: Array<(err?: Error) => void> = [];
  const written: string[] = [];
  const w = new Writable({
    decodeStrings: false,
    highWaterMark: 1,
    write: (chunk: string, _enc, cb) => void (written.push(chunk), pending.push(cb)),
  });
  return Object.assign(w, { pending, written });
}

describe('standard output failures', () => {
  it('ENOSPC: the batch whose write fails is never reported as out; later lines throw; one line, exit 1', async () => {
    const out = failing(errno('ENOSPC', 'ENOSPC: no space left on device, write'), 1);
    const err: string[] = [];
    const guard = guardStdout(out, { write: (s: string) => err.push(s) });
    let told = 0;
    const outs: string[] = [];
    guard.onFailure(() => (told += 1));
    guard.writeLine('first\n');
    guard.whenWritten(() => outs.push('first'));
    await turn();
    guard.writeLine('second\n');
    guard.whenWritten(() => outs.push('second'));
    await turn();
    assert.throws(() => guard.writeLine('third\n'), (e: unknown) => e instanceof StdoutFailed && /no space left/.test(e.message));
    assert.deepEqual(out.written, ['first\n']);
    assert.deepEqual(outs, ['first']);
    assert.equal(told, 1);
    assert.equal(await guard.settle(0), 1);
    assert.deepEqual(err, ['ews-watch: cannot write to standard output: ENOSPC: no space left on device, write\n']);
  });

  it('EPIPE (the reader went away): later lines throw, but nothing is said and the exit code stays', async () => {
    const out = failing(errno('EPIPE', 'write EPIPE'));
    const err: string[] = [];
    const guard = guardStdout(out, { write: (s: string) => err.push(s) });
    guard.writeLine('x\n');
    await turn();
    assert.throws(() => guard.writeLine('y\n'), StdoutFailed);
    assert.equal(guard.failure?.code, 'EPIPE');
    assert.equal(await guard.settle(0), 0);
    assert.equal(await guardStdout(failing(errno('EPIPE', 'write EPIPE')), { write: () => undefined }).settle(124), 124);
    assert.deepEqual(err, []);
  });

  it('a failure seen only by settle() (help text written straight to the stream) still gives exit 1 and one line', async () => {
    const out = failing(errno('ENOSPC', 'ENOSPC: no space left on device, write'));
    const err: string[] = [];
    const guard = guardStdout(out, { write: (s: string) => err.push(s) });
    out.write('Usage: ews-watch\n');
    assert.equal(await guard.settle(0), 1);
    assert.equal(err.length, 1);
  });

  it('no failure: the lines of one turn leave in one write(), and the exit code is the command\'s', async () => {
    const out = failing(errno('EIO', 'never'), 10);
    const guard = guardStdout(out, { write: () => assert.fail('nothing to say') });
    guard.writeLine('a\n');
    guard.writeLine('b\n');
    assert.deepEqual(out.written, [], 'queued until the turn ends');
    await turn();
    guard.writeLine('c\n');
    assert.equal(await guard.settle(124), 124);
    assert.deepEqual(out.written, ['a\nb\n', 'c\n']);
  });

  it('whenWritten: lines waiting in the buffer are out only when their write completes; a later failure drops them, exit 1', async () => {
    const out = slowReader();
    const err: string[] = [];
    const guard = guardStdout(out, { write: (s: string) => err.push(s) });
    const told: string[] = [];
    guard.writeLine('a\n');
    guard.whenWritten(() => told.push('a'));
    await turn();
    guard.writeLine('b\n');
    guard.writeLine('c\n');
    guard.whenWritten(() => told.push('c'));
    await turn();
    assert.equal(told.length, 0, 'nothing is out yet');
    out.pending.shift()?.();
    await turn();
    assert.deepEqual(told, ['a']);
    // The write of b and c fails: they were accepted, never written, and are never reported as out.
    out.pending.shift()?.(errno('ENOBUFS', 'write ENOBUFS'));
    await turn();
    assert.deepEqual(told, ['a']);
    assert.equal(guard.failure?.code, 'ENOBUFS');
    assert.throws(() => guard.writeLine('d\n'), StdoutFailed);
    guard.whenWritten(() => told.push('d'));
    assert.equal(await guard.settle(0), 1);
    assert.deepEqual(told, ['a']);
    assert.deepEqual(out.written, ['a\n', 'b\nc\n']);
    assert.deepEqual(err, ['ews-watch: cannot write to standard output: write ENOBUFS\n']);
  });

  it('whenWritten with nothing queued or waiting (a file, a terminal, a pipe that keeps up): at once; else after the write', async () => {
    const out = failing(errno('EIO', 'never'), 10);
    const guard = guardStdout(out, { write: () => assert.fail('nothing to say') });
    let told = 0;
    guard.whenWritten(() => (told += 1));
    assert.equal(told, 1);
    guard.writeLine('a\n');
    guard.whenWritten(() => (told += 1));
    assert.equal(told, 1, 'the line is still queued');
    await turn();
    assert.equal(told, 2);
  });

  it('ECONNRESET (the reader of a socket went away) is a normal end, as EPIPE', async () => {
    const err: string[] = [];
    const guard = guardStdout(failing(errno('ECONNRESET', 'write ECONNRESET')), { write: (s: string) => err.push(s) });
    guard.writeLine('x\n');
    await turn();
    assert.throws(() => guard.writeLine('y\n'), StdoutFailed);
    assert.equal(await guard.settle(0), 0);
    assert.deepEqual(err, []);
  });
});

describe('standard output back-pressure', () => {
  it('a slow reader: ready() waits once more than the high mark is buffered, until the buffer is down to the low mark', async () => {
    const out = slowReader();
    const guard = guardStdout(out, { write: () => assert.fail('nothing to say') });
    const line = `${'x'.repeat(1023)}\n`;
    // Each turn's lines are one write of 64 KiB, 16 of them (1 MiB, the high mark), then one more line.
    const turns = STDOUT_MARKS.high / (64 * 1024);
    for (let t = 0; t < turns; t++) {
      for (let i = 0; i < 64; i++) guard.writeLine(line);
      await turn();
      assert.equal(guard.ready(), undefined, `after ${t + 1} write(s) of 64 KiB`);
    }
    guard.writeLine(line);
    await turn();
    const wait = guard.ready();
    assert.ok(wait, 'more than the high mark waits in the buffer');
    let resumed = false;
    void wait.then(() => (resumed = true));
    let completed = 0;
    while (!resumed && out.pending.length > 0) {
      out.pending.shift()?.();
      completed += 1;
      await turn();
    }
    // From 1025 KiB buffered: twelve writes of 64 KiB out leave 257 KiB, a thirteenth 193 KiB (the low mark is 256).
    assert.equal(completed, 13);
    assert.equal(guard.ready(), undefined);
    let code: number | undefined;
    void guard.settle(0).then((c) => (code = c));
    for (let i = 0; code === undefined && i < 100; i++) {
      out.pending.shift()?.();
      await turn();
    }
    assert.equal(code, 0);
  });

  it('a failure lets whoever waits for ready() go on', async () => {
    const out = slowReader();
    const guard = guardStdout(out, { write: () => undefined });
    guard.writeLine('x'.repeat(STDOUT_MARKS.high + 1));
    const wait = guard.ready();
    assert.ok(wait);
    out.pending.shift()?.(errno('ENOBUFS', 'write ENOBUFS'));
    await wait;
    assert.equal(guard.ready(), undefined);
  });

  it('wrapWrites: the status line steps aside once per write of lines, not once per line', async () => {
    const out = failing(errno('EIO', 'never'), 10);
    const guard = guardStdout(out, { write: () => undefined });
    const seen: string[] = [];
    const off = guard.wrapWrites((write) => {
      seen.push('aside');
      write();
      seen.push(`back after ${out.written.length}`);
    });
    guard.writeLine('a\n');
    guard.writeLine('b\n');
    await turn();
    off();
    guard.writeLine('c\n');
    await turn();
    assert.deepEqual(seen, ['aside', 'back after 1']);
    assert.deepEqual(out.written, ['a\nb\n', 'c\n']);
  });

  it('beforeWrite: runs once right before each write of lines (the ledger appends its intents there), until removed', async () => {
    const out = failing(errno('EIO', 'never'), 10);
    const guard = guardStdout(out, { write: () => undefined });
    const seen: number[] = [];
    const off = guard.beforeWrite(() => seen.push(out.written.length));
    guard.writeLine('a\n');
    guard.writeLine('b\n');
    assert.deepEqual(seen, [], 'nothing before the batch goes');
    await turn();
    guard.writeLine('c\n');
    await turn();
    off();
    guard.writeLine('d\n');
    await turn();
    assert.deepEqual(seen, [0, 1], 'before the first write (none written yet) and before the second');
    assert.deepEqual(out.written, ['a\nb\n', 'c\n', 'd\n']);
  });
});
