// guardStdout() against writable streams that fail as /dev/full (ENOSPC) and a closed pipe (EPIPE) do.
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
});
