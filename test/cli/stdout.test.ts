// guardStdout() against writable streams that fail as /dev/full (ENOSPC), a closed pipe (EPIPE) and a full socket
// (ENOBUFS, after lines waited in the stream's buffer) do.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { guardStdout, StdoutFailed } from '../../src/cli/stdout.js';

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

describe('standard output failures', () => {
  it('ENOSPC: the failing write throws (the line is not counted as printed), later ones too; one line, exit 1', async () => {
    const out = failing(errno('ENOSPC', 'ENOSPC: no space left on device, write'), 1);
    const err: string[] = [];
    const guard = guardStdout(out, { write: (s: string) => err.push(s) });
    let told = 0;
    guard.onFailure(() => (told += 1));
    guard.writeLine('first\n');
    assert.throws(() => guard.writeLine('second\n'), (e: unknown) => e instanceof StdoutFailed && /no space left/.test(e.message));
    assert.throws(() => guard.writeLine('third\n'), StdoutFailed);
    assert.deepEqual(out.written, ['first\n']);
    assert.equal(told, 1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(await guard.settle(0), 1);
    assert.deepEqual(err, ['ews-watch: cannot write to standard output: ENOSPC: no space left on device, write\n']);
  });

  it('EPIPE (the reader went away): the write throws too, but nothing is said and the exit code stays', async () => {
    const out = failing(errno('EPIPE', 'write EPIPE'));
    const err: string[] = [];
    const guard = guardStdout(out, { write: (s: string) => err.push(s) });
    assert.throws(() => guard.writeLine('x\n'), StdoutFailed);
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

  it('no failure: lines go out and the exit code is the command\'s', async () => {
    const out = failing(errno('EIO', 'never'), 10);
    const guard = guardStdout(out, { write: () => assert.fail('nothing to say') });
    guard.writeLine('a\n');
    guard.writeLine('b\n');
    assert.deepEqual(out.written, ['a\n', 'b\n']);
    assert.equal(await guard.settle(124), 124);
  });

  it('whenWritten: lines waiting in the buffer are out only when their write completes; a later failure drops them, exit 1', async () => {
    // A socket whose reader is slow: each write completes only when the test says so.
    const pending: Array<(err?: Error) => void> = [];
    const out = new Writable({ write: (_chunk, _enc, cb) => void pending.push(cb), highWaterMark: 1 });
    const err: string[] = [];
    const guard = guardStdout(out, { write: (s: string) => err.push(s) });
    const told: string[] = [];
    guard.writeLine('a\n');
    guard.whenWritten(() => told.push('a'));
    guard.writeLine('b\n');
    guard.writeLine('c\n');
    guard.whenWritten(() => told.push('c'));
    assert.equal(told.length, 0, 'nothing is out yet');
    pending.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(told, ['a']);
    // The write of b fails: b and c were accepted, never written, and are never reported as out.
    pending.shift()?.(errno('ENOBUFS', 'write ENOBUFS'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(told, ['a']);
    assert.equal(guard.failure?.code, 'ENOBUFS');
    assert.throws(() => guard.writeLine('d\n'), StdoutFailed);
    guard.whenWritten(() => told.push('d'));
    assert.equal(await guard.settle(0), 1);
    assert.deepEqual(told, ['a']);
    assert.deepEqual(err, ['ews-watch: cannot write to standard output: write ENOBUFS\n']);
  });

  it('whenWritten with nothing waiting (a file, a terminal, a pipe that keeps up): at once, in the same turn', () => {
    const out = failing(errno('EIO', 'never'), 10);
    const guard = guardStdout(out, { write: () => assert.fail('nothing to say') });
    let told = 0;
    guard.writeLine('a\n');
    guard.whenWritten(() => (told += 1));
    assert.equal(told, 1);
  });

  it('ECONNRESET (the reader of a socket went away) is a normal end, as EPIPE', async () => {
    const err: string[] = [];
    const guard = guardStdout(failing(errno('ECONNRESET', 'write ECONNRESET')), { write: (s: string) => err.push(s) });
    assert.throws(() => guard.writeLine('x\n'), StdoutFailed);
    assert.equal(await guard.settle(0), 0);
    assert.deepEqual(err, []);
  });
});
