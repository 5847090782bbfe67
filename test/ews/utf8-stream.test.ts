// The streaming UTF-8 decoder: same text as a one-shot TextDecoder wherever the bytes are cut.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createUtf8Stream } from '../../src/ews/utf8-stream.js';

function decodeIn(pieces: Uint8Array[]): string {
  const u = createUtf8Stream();
  return pieces.map((p) => u.decode(p)).join('') + u.end();
}

function assertEveryThreeWaySplit(bytes: Uint8Array, expected: string): void {
  for (let i = 0; i <= bytes.length; i++) {
    for (let j = i; j <= bytes.length; j++) {
      const got = decodeIn([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]);
      if (got !== expected) assert.equal(got, expected, `cuts at ${i} and ${j}`);
    }
  }
}

test('utf8-stream: 1-, 2-, 3- and 4-byte characters survive every cut', () => {
  const text = 'aé日本😀z€𝄞';
  assertEveryThreeWaySplit(new TextEncoder().encode(text), text);
});

test('utf8-stream: one byte at a time', () => {
  const text = 'Réunion — 日本語の件名 📅✉️';
  const bytes = new TextEncoder().encode(text);
  assert.equal(decodeIn([...bytes].map((b) => Uint8Array.of(b))), text);
});

test('utf8-stream: invalid and truncated sequences become U+FFFD as a one-shot decode would', () => {
  const cases = [
    Uint8Array.of(0x61, 0xe6, 0x97, 0x62), // a 3-byte sequence cut short by 'b'
    Uint8Array.of(0xf0, 0x9f, 0x98, 0xff, 0xc3), // a bad 4th byte, then a lead byte at the very end
    Uint8Array.of(0x80, 0x80, 0x41), // stray continuation bytes
    Uint8Array.of(0xc0, 0xaf, 0xf8, 0x41), // overlong and impossible leads
  ];
  for (const bytes of cases) assertEveryThreeWaySplit(bytes, new TextDecoder().decode(bytes));
  assert.equal(decodeIn([Uint8Array.of(0x41, 0xe6, 0x97)]), 'A\ufffd');
});

test('utf8-stream: only a BOM at the very start is dropped', () => {
  const bytes = new TextEncoder().encode('\ufeffa\ufeffb');
  assert.equal(decodeIn([bytes]), 'a\ufeffb');
  assert.equal(decodeIn([bytes.subarray(0, 1), bytes.subarray(1, 4), bytes.subarray(4)]), 'a\ufeffb');
  assert.equal(decodeIn([new Uint8Array(0), new TextEncoder().encode('\ufeffx')]), 'x');
});
