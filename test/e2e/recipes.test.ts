// The README's recipes, run as written: each `<!-- recipe: name -->` block is taken from README.md and run by
// bash with a PATH on which `ews-watch` is the built CLI's `demo` (the simulated Exchange, over real HTTP) and
// `notify-send` a stand-in that records its arguments. The systemd unit's ExecStart is split as systemd splits
// it and run the same way with --max-events 1. A recipe that breaks in the README breaks here.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { track } from '../support/children.js';
import { binPath, repoRoot } from '../support/cli.js';
import { parseLines } from './helpers.js';

/** The code block after each `<!-- recipe: name -->` marker. */
function recipes(): Map<string, string> {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const found = new Map<string, string>();
  for (const m of readme.matchAll(/<!-- recipe: ([\w-]+) -->\n```\w*\n([\s\S]*?)\n```/g)) found.set(m[1] as string, m[2] as string);
  return found;
}

interface Sandbox {
  home: string;
  bin: string;
  env: Record<string, string>;
  notifications(): string[];
}

/** A HOME of its own, and on PATH: `ews-watch` → `ews-watch demo`, `notify-send` → a recorder. */
function sandbox(fastDemo = false): Sandbox {
  const home = mkdtempSync(join(tmpdir(), 'ews-watch-recipe-'));
  const bin = join(home, 'bin');
  mkdirSync(bin);
  const log = join(home, 'notify-send.log');
  const script = (name: string, body: string): void => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  script('ews-watch', `exec "${process.execPath}" "${binPath}" demo "$@"`);
  script('notify-send', `printf '%s|' "$@" >> "${log}"; printf '\\n' >> "${log}"`);
  return {
    home,
    bin,
    env: {
      HOME: home,
      PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      XDG_STATE_HOME: join(home, 'state'),
      // For the wait: a mail every ~300 ms instead of every few seconds (one sender in ten is the bank).
      ...(fastDemo ? { EWS_WATCH_DEMO_INTERVAL_MS: '300' } : {}),
    },
    notifications: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l !== '') : []),
  };
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a recipe with bash in its own process group; `until` (if given) decides when to stop it with SIGTERM. */
function runRecipe(text: string, box: Sandbox, until?: () => boolean, timeoutMs = 60_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = track(spawn('bash', ['--norc', '--noprofile', '-c', text], { cwd: box.home, env: box.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }), { group: true });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // One SIGTERM, as systemd or a person would send: a second one could land after ews-watch let go of its handler.
    const poll = until
      ? setInterval(() => {
          if (!until()) return;
          clearInterval(poll);
          process.kill(-(child.pid as number), 'SIGTERM');
        }, 50)
      : undefined;
    const limit = setTimeout(() => {
      process.kill(-(child.pid as number), 'SIGKILL');
      reject(new Error(`recipe still running after ${timeoutMs} ms\n${text}\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearInterval(poll);
      clearTimeout(limit);
      resolve({ code, stdout, stderr });
    });
  });
}

/** ExecStart= as systemd splits it: words, with double or single quotes grouping; %h is the home directory. */
function execStartOf(unit: string, home: string): string[] {
  const line = unit.split('\n').find((l) => l.startsWith('ExecStart='));
  assert.ok(line, 'the unit has an ExecStart= line');
  const words = [...line.slice('ExecStart='.length).replaceAll('%h', home).matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
  assert.ok(words[0]?.startsWith('/'), 'systemd wants an absolute path to the program');
  return words;
}

describe('README recipes, run as written against ews-watch demo', { concurrency: 2 }, () => {
  const all = recipes();

  it('the README has the four recipes', () => {
    assert.deepEqual([...all.keys()].sort(), ['notify', 'save-ids', 'systemd', 'wait']);
  });

  it('notify: one desktop notification per new mail, with the sender and the subject', async () => {
    const box = sandbox();
    const r = await runRecipe(all.get('notify') as string, box, () => box.notifications().length >= 1);
    assert.equal(r.code, 0, r.stderr);
    const [first] = box.notifications();
    // notify-send -- "<sender>" "<subject>": both non-empty, as the demo's mail has them.
    assert.match(first ?? '', /^--\|[^|]+\|[^|]+\|$/);
    const events = parseLines(r.stdout);
    assert.ok(events.length >= 1 && events.every((e) => e.event === 'NewMail'));
    const shown = (first ?? '').split('|');
    const e0 = events[0] as { from: { name: string }; subject: string };
    assert.deepEqual([shown[1], shown[2]], [e0.from.name, e0.subject]);
  });

  it('save-ids: the id of each new mail is appended to ~/new-mail-ids.txt', async () => {
    const box = sandbox();
    const file = join(box.home, 'new-mail-ids.txt');
    const lines = (): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : []);
    const r = await runRecipe(all.get('save-ids') as string, box, () => lines().length >= 1);
    assert.equal(r.code, 0, r.stderr);
    const printed = parseLines(r.stdout).map((e) => e.itemId);
    assert.ok(lines().length >= 1);
    assert.match(lines()[0] ?? '', /^[A-Za-z0-9+/=_-]{20,}$/);
    assert.deepEqual(lines(), printed.slice(0, lines().length));
  });

  it('wait: exits 0 with the first mail from the bank in bank-mail.json', async () => {
    const box = sandbox(true);
    const r = await runRecipe(all.get('wait') as string, box);
    assert.equal(r.code, 0, r.stderr);
    const saved = parseLines(readFileSync(join(box.home, 'bank-mail.json'), 'utf8'));
    assert.equal(saved.length, 1);
    assert.match(String((saved[0]?.from as { address: string }).address), /bank/);
    assert.equal(r.stdout, `mail from the bank: ${JSON.stringify(saved[0])}\n`);
  });

  it('systemd: ExecStart is a command line ews-watch accepts; it runs (with --max-events 1) and notifies', async () => {
    const box = sandbox();
    const unit = all.get('systemd') as string;
    assert.match(unit, /^EnvironmentFile=%h\/\.config\/ews-watch\/env$/m);
    const argv = execStartOf(unit, box.home);
    assert.equal(argv[0]?.endsWith('/ews-watch'), true);
    const quoted = [join(box.bin, 'ews-watch'), '--max-events', '1', ...argv.slice(1)].map((w) => `'${w.replaceAll("'", "'\\''")}'`).join(' ');
    const r = await runRecipe(quoted, box);
    assert.equal(r.code, 0, r.stderr);
    const [event] = parseLines(r.stdout);
    assert.equal(event?.event, 'NewMail');
    assert.equal(typeof event?.subject, 'string');
    assert.deepEqual(box.notifications(), ['New mail|']);
  });
});
