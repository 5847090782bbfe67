// .env lines Node's parseEnv would misread: left out with a problem named by line number and variable, never by
// value, so the lines after them are still read; .env.example itself reads without a problem.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { describe, it } from 'node:test';
import { readableLines } from '../../src/cli/dotenv.js';
import { repoRoot } from '../support/shared.js';

describe('readableLines', () => {
  it('blanks a line without "=" (parseEnv would glue it to the next one and lose both)', () => {
    const text = 'A=1\nhunter2\nB=2\n';
    assert.deepEqual(parseEnv(text), { A: '1', 'hunter2\nB': '2' }, 'what parseEnv does on its own');
    const r = readableLines(text);
    assert.deepEqual(r.problems, ['line 2 is not NAME=value; ignored']);
    assert.deepEqual(parseEnv(r.text), { A: '1', B: '2' });
  });

  it('keeps a quoted value over several lines, and drops a quote never closed (named, not quoted)', () => {
    const r = readableLines('NOTE="one\ntwo"\r\nX=1\nEWS_PASSWORD="s3cret\n');
    assert.deepEqual(r.problems, ['line 4: EWS_PASSWORD opens a quote that is never closed; ignored']);
    assert.deepEqual(parseEnv(r.text), { NOTE: 'one\ntwo', X: '1' });
    assert.equal(r.problems.join('').includes('s3cret'), false);
  });

  it('names only a plain variable; comments, blank lines, export and spaces around "=" are fine', () => {
    const r = readableLines("# c\n\n  export A = 1\nKEY: v\n=x\nmy secret='abc\n");
    assert.deepEqual(r.problems, ['line 4 is not NAME=value; ignored', 'line 5 is not NAME=value; ignored', 'line 6 opens a quote that is never closed; ignored']);
    assert.deepEqual(parseEnv(r.text), { A: '1' });
  });

  it('.env.example reads without a problem', () => {
    assert.deepEqual(readableLines(readFileSync(join(repoRoot, '.env.example'), 'utf8')).problems, []);
  });
});
