// Hooks end to end: --exec runs a real program (a small node script that records what it was given) for each
// printed event, with the event's JSON on stdin and EWS_* variables; --on picks events; `;` separates hooks;
// a failing hook is reported and the watch goes on; --debounce folds a burst into one run. Usage errors (exit 2)
// are checked in-process: test/cli/usage.test.ts.

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli, startCli } from '../support/cli.js';
import { envFor, parseLines, withSim } from './helpers.js';

interface Run {
  args: string[];
  stdin: string;
  env: Record<string, string>;
}

/** A hook that appends {args, stdin, EWS_* env} as one JSON line to the file named by its first argument. */
function recorder(): { argv: string[]; runs(file?: string): Run[]; out: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ews-watch-hook-'));
  const script = join(dir, 'hook.mjs');
  writeFileSync(
    script,
    `import { appendFileSync, readFileSync } from 'node:fs';
const stdin = readFileSync(0, 'utf8');
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('EWS_')));
appendFileSync(process.argv[2], JSON.stringify({ args: process.argv.slice(3), stdin, env }) + '\\n');
`,
  );
  const out = join(dir, 'runs.ndjson');
  const read = (file = out): Run[] => {
    try {
      return parseLines(readFileSync(file, 'utf8')) as unknown as Run[];
    } catch {
      return [];
    }
  };
  return { argv: [process.execPath, script], runs: read, out, dir };
}

describe('hooks, end to end', { concurrency: 2 }, () => {
  it("--on NewMail --exec: the event's JSON on stdin, its fields in EWS_* variables, arguments as given, no secrets", async () => {
    await withSim({}, async (sim) => {
      const hook = recorder();
      const run = startCli(['--json', '--details', '--max-events', '3', '--on', 'NewMail', '--exec', ...hook.argv, hook.out, 'two words', '$HOME;*'], { env: envFor(sim) });
      await sim.waitFor(() => sim.connections().length > 0);
      const mail = sim.deliverMail({ subject: 'Grüße \u009b31maus\u009b0m München', from: { name: 'Zoë Müller', address: 'zoe@contoso.de' } }).item!;
      const r = await run.result();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      const printed = parseLines(r.stdout);
      const runs = hook.runs();
      assert.equal(runs.length, 1, 'NewMail only; the hook ran before ews-watch exited');
      const [only] = runs;
      assert.deepEqual(only?.args, ['two words', '$HOME;*'], 'no shell: nothing expanded');
      assert.equal(only?.stdin, `${r.stdout.split('\n')[1]}\n`, 'stdin is the NDJSON line that was printed');
      // The subject's 8-bit CSI is escaped in that line (as on stdout), and the same once parsed.
      assert.match(only?.stdin ?? '', /Grüße \\u009b31maus\\u009b0m München/);
      assert.equal(printed[1]?.subject, 'Grüße \u009b31maus\u009b0m München');
      assert.deepEqual(only?.env, {
        EWS_EVENT: 'NewMail',
        EWS_EVENTS: 'NewMail',
        EWS_ITEM_ID: mail.id,
        EWS_SUBJECT: 'Grüße aus München',
        EWS_FROM: 'zoe@contoso.de',
        EWS_FROM_NAME: 'Zoë Müller',
        EWS_FOLDER: 'inbox',
        EWS_MAILBOX: sim.mailboxAddress,
        EWS_SOURCE: 'stream',
        EWS_TIMESTAMP: printed[1]?.timestamp,
        // From the test's environment, passed through: ews-watch's own settings are not secret.
        EWS_URL: sim.url,
        EWS_AUTH: 'basic',
        EWS_USER: sim.credentials.user,
      });
    });
  });

  it('a failing hook is reported on stderr, one line per run, and the watch goes on to --max-events', async () => {
    await withSim({}, async (sim) => {
      // A program that is there at start (checked before subscribing) and gone when the events come.
      const dir = mkdtempSync(join(tmpdir(), 'ews-watch-hook-'));
      const vanishing = join(dir, 'notify');
      writeFileSync(vanishing, '#!/bin/sh\n');
      chmodSync(vanishing, 0o755);
      const run = startCli(
        ['--json', '--events', 'NewMail', '--max-events', '2', '--exec', process.execPath, '-e', 'console.error("cannot reach the printer"); process.exit(3)', ';', '--exec', vanishing],
        { env: envFor(sim) },
      );
      await sim.waitFor(() => sim.connections().length > 0, 15_000);
      rmSync(dir, { recursive: true, force: true });
      sim.deliverMail({});
      sim.deliverMail({});
      const r = await run.result();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseLines(r.stdout).length, 2);
      const lines = r.stderr.trimEnd().split('\n');
      const node = lines.filter((l) => /^ews-watch: warning: hook .*node exited with code 3 for NewMail …?\S+$/.test(l));
      const missing = lines.filter((l) => l.startsWith(`ews-watch: warning: hook ${vanishing} could not start for NewMail `) && l.endsWith(': program not found'));
      const said = lines.filter((l) => /^hook .*node: cannot reach the printer$/.test(l));
      assert.equal(node.length, 2, r.stderr);
      assert.equal(missing.length, 2, r.stderr);
      assert.equal(said.length, 2, "the hook's own output goes to stderr, prefixed");
      assert.equal(lines.length, 6, r.stderr);
    });
  });

  it('--debounce folds the Created + NewMail of one mail into one run named NewMail; the folder event runs apart', async () => {
    await withSim({}, async (sim) => {
      const hook = recorder();
      sim.script('GetStreamingEvents', [{ op: 'newMail', subject: 'burst' }, { op: 'stall' }]);
      const r = await runCli(['--json', '--max-events', '3', '--debounce', '2000', '--exec', ...hook.argv, hook.out], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      const item = sim.items('inbox')[0]!;
      const runs = hook.runs().map((x) => [x.env.EWS_EVENT, x.env.EWS_EVENTS, x.env.EWS_ITEM_ID ?? x.env.EWS_FOLDER_ID]);
      assert.deepEqual(
        runs.sort(),
        [
          ['Modified', 'Modified', sim.folder('inbox')!.id],
          ['NewMail', 'Created,NewMail', item.id],
        ].sort(),
      );
    });
  });

  it("several hooks: each --on picks its own events; ';' ends one, and `--` starts the last", async () => {
    await withSim({}, async (sim) => {
      const a = recorder();
      const b = recorder();
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(['--json', '--on', 'NewMail,Created', '--exec', ...a.argv, a.out, ';', '--max-events', '3', '--on', 'Modified', '--', ...b.argv, b.out], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(a.runs().map((x) => x.env.EWS_EVENT).sort(), ['Created', 'NewMail']);
      assert.deepEqual(b.runs().map((x) => x.env.EWS_EVENT), ['Modified']);
      assert.equal(b.runs()[0]?.env.EWS_FOLDER_ID, sim.folder('inbox')!.id);
    });
  });

  it('a value that looks like --exec is still the value of its option', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail', subject: 'about --exec' }, { op: 'stall' }]);
      const r = await runCli(['--json', '--events', 'NewMail', '--subject', '--exec', '--max-events', '1'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseLines(r.stdout)[0]?.subject, 'about --exec');
    });
  });
});
