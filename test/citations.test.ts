// Every `§` in the code names a section a reader of the repository can open: docs/protocol-notes.md (cited as
// `protocol-notes.md §N`), or a public document named on the same line (an RFC, SOAP 1.1, an [MS-…] protocol).
// The team's working notes outside the repository are never cited.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from './support/shared.js';

const NOTES = readFileSync(join(repoRoot, 'docs', 'protocol-notes.md'), 'utf8');
/** "1", "1.2", … from the headings; "9.1" … "9.N" from the numbered list of §9. */
const SECTIONS = new Set([
  ...[...NOTES.matchAll(/^#{2,3} (\d+(?:\.\d+)?)\.? /gm)].map((m) => m[1]!),
  ...[...NOTES.slice(NOTES.indexOf('## 9.')).matchAll(/^(\d+)\. /gm)].map((m) => `9.${m[1]}`),
]);

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : /\.(ts|mjs)$/.test(p) ? [p] : [];
  });
}

const FILES = ['src', 'test', 'bench', 'conformance'].flatMap((d) => walk(join(repoRoot, d))).filter((f) => !f.endsWith('citations.test.ts'));
/** A public document named before the § on the same line. */
const PUBLIC = /(RFC ?\d+|SOAP 1\.1|\[?MS-OX\w+\]?|ECMA-\d+)[^§]{0,12}$/;

export function unresolved(text: string, sections: Set<string>): string[] {
  const bad: string[] = [];
  const citesNotes = text.includes('protocol-notes.md');
  for (const line of text.split('\n')) {
    for (const m of line.matchAll(/§ ?(\d+(?:\.\d+)*)(?: item (\d+))?/g)) {
      if (PUBLIC.test(line.slice(0, m.index))) continue;
      const section = m[2] ? `${m[1]}.${m[2]}` : m[1]!;
      if (!citesNotes) bad.push(`§${section} in a file that never names protocol-notes.md`);
      else if (!sections.has(section)) bad.push(`§${section} is not a section of docs/protocol-notes.md`);
    }
  }
  return bad;
}

describe('citations', () => {
  it('docs/protocol-notes.md has the sections the code cites', () => {
    for (const s of ['1.1', '1.4', '2.2', '2.3', '2.4', '2.5', '3', '4.1', '4.4', '6.1', '8', '9', '9.6', '9.14']) assert.ok(SECTIONS.has(s), s);
  });

  it('every § in src, test, bench and conformance resolves to docs/protocol-notes.md or a named public document', () => {
    const bad = FILES.flatMap((f) => unresolved(readFileSync(f, 'utf8'), SECTIONS).map((why) => `${relative(repoRoot, f)}: ${why}`));
    assert.deepEqual(bad, []);
  });

  it('no comment cites the working notes that are not in the repository', () => {
    const bad = FILES.filter((f) => /ews-protocol\.md|cli-contract|design\.md|scale-notes\.md/.test(readFileSync(f, 'utf8'))).map((f) => relative(repoRoot, f));
    assert.deepEqual(bad, []);
  });

  it('the checker: a missing section, a file without the notes, and public documents', () => {
    const s = new Set(['2.4', '9.6']);
    assert.deepEqual(unresolved('// see protocol-notes.md §2.4 and §7.7 and §9 item 6', s), ['§7.7 is not a section of docs/protocol-notes.md']);
    assert.deepEqual(unresolved('// back off (§2.4)', s), ['§2.4 in a file that never names protocol-notes.md']);
    assert.deepEqual(unresolved('// Retry-After (RFC 9110 §10.2.3); the fault code (SOAP 1.1 §4.4.1)', s), []);
  });
});
