// The README's first command is the quick start: after `npm ci` it must run the clone as built, in seconds. It is
// taken from the README as written and run by bash (with --max-events 1 --json so it ends); npx is ruled out,
// since npx copies the clone into its cache and builds it all again first.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { track } from '../support/children.js';
import { repoRoot } from '../support/cli.js';
import { parseLines } from './helpers.js';

/** The first line of the README's first sh block, without its comment, split at `&&`. */
function quickStart(): string[] {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const block = /```sh\n([\s\S]*?)\n```/.exec(readme)?.[1] ?? '';
  const first = (block.split('\n')[0] ?? '').replace(/\s+#.*$/, '').trim();
  return first.split('&&').map((s) => s.trim());
}

describe("the README's quick start", () => {
  it('is `npm ci && <the built CLI> demo`, with no npx anywhere in it', () => {
    const steps = quickStart();
    assert.equal(steps[0], 'npm ci');
    assert.equal(steps.length, 2, steps.join(' && '));
    assert.deepEqual(steps.filter((s) => /(^|\s)npx\s/.test(s)), [], 'npx would copy the clone to its cache and build it again');
    assert.match(steps[1] ?? '', / demo$/);
  });

  it('its command runs the demo from the built tree and prints an event within seconds', async () => {
    const command = quickStart()[1] ?? '';
    const started = Date.now();
    const child = track(
      spawn('bash', ['--norc', '--noprofile', '-c', `${command} --max-events 1 --json`], {
        cwd: repoRoot,
        // The shebang (#!/usr/bin/env node) finds the node that runs the tests.
        env: { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: process.env.HOME ?? '/tmp' },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      }),
      { group: true, label: command },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const seconds = (Date.now() - started) / 1000;
    assert.equal(code, 0, stderr);
    assert.match(stderr, /^ews-watch: demo: simulated Exchange at http:\/\/127\.0\.0\.1:\d+\/EWS\/Exchange\.asmx/);
    const lines = parseLines(stdout);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.mailbox, 'alice@contoso.com');
    // The first demo mail comes after about a second; a rebuild (as npx does) would take far longer.
    assert.ok(seconds < 15, `took ${seconds} s`);
  });

  it('the published package holds the program and its notes, not the tests or the benchmarks', async () => {
    // --ignore-scripts: `prepare` would build again; the list depends only on package.json's "files" and the tree.
    const child = track(spawn('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] }), { label: 'npm pack' });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0);
    const files = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
    assert.ok(files.includes('bin/ews-watch.js') && files.includes('dist/src/cli/main.js') && files.includes('dist/src/simulator/index.js'), 'the CLI and the demo');
    assert.deepEqual(files.filter((f) => /^dist\/(test|bench|conformance)\//.test(f)), []);
  });
});
