// The protocol layer's rule (README, Development): src/ews imports nothing of ours but ../errors.js, and nothing
// from outside but saxes (test/architecture.test.ts checks every layer). Being pure, it also never touches
// process, timers or the clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { code, specifiers } from '../support/imports.js';
import { repoRoot } from '../support/shared.js';

const dir = join(repoRoot, 'src', 'ews');
const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));

const source = (file: string): string => code(readFileSync(join(dir, file), 'utf8'));


test('import rule: the protocol files are the ones we expect', () => {
  for (const f of ['framer.ts', 'requests.ts', 'response-codes.ts', 'responses.ts', 'stream-decoder.ts', 'types.ts']) assert.ok(files.includes(f), f);
});

test('import rule: src/ews imports only saxes, ./… and ../errors.js', () => {
  const allowed = (s: string): boolean => s === 'saxes' || s === '../errors.js' || /^\.\/[a-z0-9-]+\.js$/.test(s);
  for (const f of files) {
    const bad = specifiers(source(f)).filter((s) => !allowed(s));
    assert.deepEqual(bad, [], `${f} imports ${bad.join(', ')}`);
  }
});

test('import rule: the checker itself catches a forbidden import', () => {
  assert.deepEqual(specifiers("import { x } from 'node:fs';\nimport type { Y } from '../watch/client.js';\nexport * from './a.js';\nconst z = await import('undici');"), [
    'node:fs',
    '../watch/client.js',
    './a.js',
    'undici',
  ]);
});

test('pure: no process, timers, clock or console in src/ews', () => {
  for (const f of files) {
    const src = source(f);
    for (const word of [/\bprocess\./, /\bsetTimeout\b/, /\bsetInterval\b/, /\bsetImmediate\b/, /\bDate\.now\b/, /\bnew Date\b/, /\bconsole\./, /\bBuffer\./]) {
      assert.doesNotMatch(src, word, `${f} uses ${word}`);
    }
  }
});
