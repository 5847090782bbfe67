// How much of the JS heap a value keeps alive, for tests that prove decoded strings do not keep their source text.
// A string is not an object, so a WeakRef or FinalizationRegistry cannot watch an envelope string being collected;
// what can be measured is the heap in use after a full GC, with and without the kept value. The sizes in these
// tests differ by orders of magnitude (megabytes of envelopes against kilobytes of ids), so the noise of a few
// hundred kilobytes that a GC leaves behind cannot decide a result.

import v8 from 'node:v8';
import vm from 'node:vm';

let fullGc: (() => void) | undefined;

/** A full, synchronous GC: global.gc under --expose-gc, else the same function after turning V8's flag on. */
export function gc(): void {
  if (!fullGc) {
    fullGc = (globalThis as { gc?: () => void }).gc;
    if (!fullGc) {
      v8.setFlagsFromString('--expose-gc');
      fullGc = vm.runInNewContext('gc') as () => void;
    }
  }
  fullGc();
  fullGc();
}

/** Heap bytes in use after a full GC while `make()`'s result is still held; everything else it made is garbage. */
export function retainedBytes<T>(make: () => T): { bytes: number; value: T } {
  gc();
  const before = process.memoryUsage().heapUsed;
  const value = make();
  gc();
  const bytes = process.memoryUsage().heapUsed - before;
  return { bytes, value };
}

export const MiB = 1024 * 1024;
