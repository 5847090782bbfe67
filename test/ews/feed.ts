// Test helpers for the stream decoder: feed bytes in chosen chunks, collect messages or the error, make splits.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createStreamDecoder } from '../../src/ews/stream-decoder.js';
import type { StreamMessage } from '../../src/ews/types.js';
import { repoRoot } from '../support/shared.js';

export interface Decoded {
  messages: StreamMessage[];
  /** `${name}: ${message}` of what was thrown, if anything. */
  error?: string;
  errorObject?: unknown;
}

/** Feeds the chunks, then ends; never throws. */
export function decodeChunks(chunks: Iterable<Uint8Array>, maxEnvelopeBytes?: number): Decoded {
  const messages: StreamMessage[] = [];
  const d = createStreamDecoder({ onMessage: (m) => messages.push(m), maxEnvelopeBytes });
  try {
    for (const c of chunks) d.feed(c);
    d.end();
    return { messages };
  } catch (err) {
    return { messages, error: `${(err as Error).name}: ${(err as Error).message}`, errorObject: err };
  }
}

export function whole(bytes: Uint8Array): Decoded {
  return decodeChunks([bytes]);
}

export function* twoWaySplits(bytes: Uint8Array): Generator<[number, Uint8Array[]]> {
  for (let i = 0; i <= bytes.length; i++) yield [i, [bytes.subarray(0, i), bytes.subarray(i)]];
}

export function byteAtATime(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i++) out.push(bytes.subarray(i, i + 1));
  return out;
}

export { seededRandom } from '../support/random.js';

/** Random cut points, some tiny chunks and some large, from a seeded generator. */
export function randomChunks(bytes: Uint8Array, random: () => number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  while (off < bytes.length) {
    const r = random();
    const size = r < 0.3 ? 1 + Math.floor(random() * 3) : r < 0.8 ? 1 + Math.floor(random() * 64) : 1 + Math.floor(random() * 2048);
    out.push(bytes.subarray(off, off + size));
    off += size;
  }
  return out;
}

export const fixturesDir = join(repoRoot, 'test', 'fixtures', 'streams');

export function readFixture(name: string): { bytes: Buffer; expected: StreamMessage[] } {
  return {
    bytes: readFileSync(join(fixturesDir, `${name}.xml`)),
    expected: JSON.parse(readFileSync(join(fixturesDir, `${name}.expected.json`), 'utf8')) as StreamMessage[],
  };
}
