// What the CLI loads before it does its work (issue 13, item 5), checked by name, never by time: --help and
// --version off a terminal load nothing (the build rendered their answers), and rendered by the program they load
// commander and the command line's own modules, nothing that talks to a server; a watch with Basic
// sign-in off a terminal loads neither the NTLM maths, OAuth, the keychain module nor chalk, and a watch with a URL
// loads no hook runner, GetItem lookups, autodiscover or pretty printer unless asked for them. Each spawned CLI
// records every module it imports (test/support/record-loads.ts).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { repoRoot, runCli, startCli } from '../support/cli.js';
import { envFor, parseLines, withSim } from './helpers.js';

const recorder = pathToFileURL(join(repoRoot, 'dist/test/support/record-loads.js')).href;

/** Env that makes the CLI record its imports, and a reader for them: package names, and our own modules. */
function recording(): { env: Record<string, string>; packages(): string[]; ours(): string[]; builtins(): string[]; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ews-watch-loads-'));
  const file = join(dir, 'loads.txt');
  const urls = (): string[] => {
    try {
      return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
    } catch {
      return [];
    }
  };
  return {
    env: { NODE_OPTIONS: `--import ${recorder}`, EWS_WATCH_TEST_LOADS: file },
    packages: () => [...new Set(urls().flatMap((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1] ?? []))].sort(),
    ours: () => [...new Set(urls().flatMap((u) => /\/dist\/src\/(.+)\.js$/.exec(u)?.[1] ?? []))].sort(),
    builtins: () => [...new Set(urls().filter((u) => u.startsWith('node:')))].sort(),
    done: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Loaded only where they are used: the NTLM maths, OAuth, the OS keychain, colour. */
const ON_DEMAND = ['@ewsjs/ntlm-client', '@azure/msal-node', '@napi-rs/keyring', 'chalk'];
/** Ours, loaded only where used: hooks (--exec), GetItem lookups (--details), autodiscover (no URL), pretty lines. */
const OURS_ON_DEMAND = /^(hooks\/(index|runner|process|queue|env|fold)|enrich\/details|autodiscover\/|state\/autodiscover-cache|cli\/locate|output\/pretty)/;

/**
 * A watch with `args` (and `env` on top of the simulator's) that prints the one mail delivered once its stream is
 * open and exits (--max-events 1 among `args`), recording its imports; `check` reads its output and the recording.
 */
async function watchOneMail(args: string[], env: Record<string, string>, check: (r: { stdout: string; stderr: string }, rec: ReturnType<typeof recording>) => void): Promise<void> {
  await withSim({}, async (sim) => {
    const rec = recording();
    try {
      const run = startCli(args, { env: envFor(sim, { ...rec.env, ...env }) });
      await sim.waitFor(() => sim.connections().length > 0, 20_000);
      sim.deliverMail({ subject: 'lazy' });
      const r = await run.result();
      assert.equal(r.code, 0, r.stderr);
      check(r, rec);
    } finally {
      rec.done();
    }
  });
}

describe('start-up: what is loaded', { concurrency: 2 }, () => {
  for (const flag of ['--help', '--version']) {
    it(`${flag} off a terminal prints the build's rendering of the program's own answer, loading no module at all`, async () => {
      const rec = recording();
      try {
        const quick = await runCli([flag], { env: rec.env });
        assert.deepEqual([quick.code, quick.stderr], [0, '']);
        assert.deepEqual([rec.packages(), rec.ours()], [[], []], 'neither a package nor a module of ours');
        // The same text the program prints (scripts/render-quick-answers.mjs rendered it from the program at build).
        const full = await runCli([flag], { env: { EWS_WATCH_FULL_HELP: '1' } });
        assert.deepEqual([full.code, full.stderr], [0, '']);
        assert.equal(quick.stdout, full.stdout);
        assert.match(quick.stdout, flag === '--help' ? /^Usage: ews-watch/ : /^\d+\.\d+\.\d+\n$/);
      } finally {
        rec.done();
      }
    });

    it(`${flag} rendered by the program (on a terminal) loads commander and the command line alone: no transport, parser, sign-in or colour`, async () => {
      const rec = recording();
      try {
        const r = await runCli([flag], { env: { ...rec.env, EWS_WATCH_FULL_HELP: '1' } });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, '');
        assert.match(r.stdout, flag === '--help' ? /^Usage: ews-watch/ : /^\d+\.\d+\.\d+\n$/);
        assert.deepEqual(rec.packages(), ['commander']);
        // No command module, no engine, no transport: only the command line's own pieces.
        assert.deepEqual(rec.ours().filter((m) => !m.startsWith('cli/') && !['errors', 'base/sanitize', 'term/redact'].includes(m)), []);
        assert.ok(!rec.ours().some((m) => m.startsWith('cli/commands/')), rec.ours().join(' '));
      } finally {
        rec.done();
      }
    });
  }

  it('a watch with Basic sign-in, pretty lines to a pipe: no NTLM maths, OAuth, keychain or chalk', async () => {
    await watchOneMail(['--format', 'pretty', '--max-events', '1', '--events', 'NewMail'], {}, (r, rec) => {
      assert.equal(r.stderr, '');
      assert.match(r.stdout, /NewMail\t.*\n$/);
      const loaded = rec.packages();
      // undici's files are loaded with require() (src/transport/undici.ts), which this recorder of imports does not see.
      assert.ok(loaded.includes('saxes') && !loaded.includes('undici'), loaded.join(' '));
      assert.deepEqual(loaded.filter((p) => ON_DEMAND.includes(p)), []);
    });
  });

  it('the recorder sees what is imported on demand: --auth ntlm loads the NTLM maths; NDJSON loads no chalk', async () => {
    await watchOneMail(['--auth', 'ntlm', '--max-events', '1', '--events', 'NewMail'], { EWS_AUTH: 'ntlm' }, (r, rec) => {
      assert.equal(r.stderr, '');
      assert.deepEqual(parseLines(r.stdout).map((l) => l.event), ['NewMail']);
      const loaded = rec.packages();
      assert.ok(loaded.includes('@ewsjs/ntlm-client'), loaded.join(' '));
      assert.deepEqual(loaded.filter((p) => p !== '@ewsjs/ntlm-client' && ON_DEMAND.includes(p)), []);
      // With a URL, NDJSON, no --exec and no --details: none of those parts, and no child processes.
      assert.deepEqual(rec.ours().filter((m) => OURS_ON_DEMAND.test(m)), []);
      assert.ok(!rec.builtins().includes('node:child_process') && !rec.builtins().includes('node:dns/promises'), rec.builtins().join(' '));
    });
  });

  it('--exec loads the hook runner, --details the lookups, --format pretty the pretty lines, no URL autodiscover: each only then', async () => {
    // --exec takes the rest of the command line as the hook's: last.
    const args = ['--format', 'pretty', '--details', '--max-events', '1', '--events', 'NewMail', '--on', 'NewMail', '--exec', 'true'];
    await watchOneMail(args, {}, (r, rec) => {
      assert.match(r.stdout, /NewMail\t.*lazy.*\n$/);
      const ours = rec.ours();
      for (const m of ['hooks/runner', 'hooks/process', 'enrich/details', 'output/pretty']) assert.ok(ours.includes(m), `${m} in ${ours.join(' ')}`);
      assert.ok(rec.builtins().includes('node:child_process'), rec.builtins().join(' '));
      // A URL was given: autodiscover stays unloaded even here.
      assert.deepEqual(ours.filter((m) => /^(autodiscover\/|cli\/locate)/.test(m)), []);
    });
  });
});
