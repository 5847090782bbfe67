// The README's recipes, run as written: each `<!-- recipe: name -->` block is taken from README.md and run by
// bash with a PATH on which `ews-watch` is the built CLI's `demo` (the simulated Exchange, over real HTTP) and
// `notify-send` a stand-in that records its arguments. The systemd unit's ExecStart is split as systemd splits
// it and run the same way with --max-events 1. A recipe that breaks in the README breaks here.
// The wait recipe also runs against a simulator whose mailbox has a history (an earlier run's saved state, mail
// that came while nothing watched, a service watching beside it): it must answer with the next mail only.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Simulator } from '../../src/simulator/types.js';
import { LOCK_FILE_NAME } from '../../src/state/lock.js';
import { track } from '../support/children.js';
import { binPath, repoRoot, startCli } from '../support/cli.js';
import { testService } from '../support/keychain.js';
import { envFor, parseLines, requestsOf, withSim } from './helpers.js';

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

/** A HOME of its own, and on PATH: `ews-watch` → `ews-watch demo` (or the CLI pointed at `sim`), `notify-send` → a recorder. */
function sandbox(fastDemo = false, sim?: Simulator): Sandbox {
  const home = mkdtempSync(join(tmpdir(), 'ews-watch-recipe-'));
  const bin = join(home, 'bin');
  mkdirSync(bin);
  const log = join(home, 'notify-send.log');
  const script = (name: string, body: string): void => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  script('ews-watch', `exec "${process.execPath}" "${binPath}" ${sim ? '' : 'demo '}"$@"`);
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
      ...(sim ? envFor(sim) : {}),
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

  it('systemd: the password stored with `ews-watch login --keychain file`, as the text says, signs the service in; its environment holds none', { skip: !existsSync('/proc/self/environ') && 'needs /proc' }, async () => {
    await withSim({}, async (sim) => {
      // The text before the unit: the env file holds no password; `ews-watch login --keychain file` stores it.
      const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
      const text = readme.slice(readme.indexOf('**Run ews-watch as a service**'), readme.indexOf('<!-- recipe: systemd -->'));
      assert.match(text, /Put `EWS_URL` and `EWS_USER` in\s+`~\/\.config\/ews-watch\/env`/);
      assert.match(text, /`ews-watch login --keychain file`/);
      const box = sandbox(false, sim);
      const { password } = sim.credentials;
      // The env file's variables (no password), and a store of the test's own.
      const env = { HOME: box.home, PATH: box.env.PATH as string, EWS_URL: sim.url, EWS_AUTH: 'basic', EWS_USER: sim.credentials.user, EWS_KEYCHAIN_SERVICE: testService() };
      const login = await startCli(['login', '--keychain', 'file', '--password-stdin'], { env, stdin: `${password}\n` }).result();
      assert.equal(login.code, 0, login.stderr);
      assert.equal(statSync(join(box.home, '.config', 'ews-watch', 'credentials.json')).mode & 0o777, 0o600);
      const argv = execStartOf(all.get('systemd') as string, box.home);
      // Before the hook's words, which run to the end of the line.
      const service = startCli(['--max-events', '1', ...argv.slice(1)], { env });
      await sim.waitFor(() => sim.connections().length > 0, 15_000);
      assert.equal(readFileSync(`/proc/${service.child.pid}/environ`, 'utf8').includes(password), false, 'no password in the environment');
      sim.deliverMail({ subject: 'to the journal' });
      const r = await service.result();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseLines(r.stdout)[0]?.event, 'NewMail');
      assert.deepEqual(box.notifications(), ['New mail|']);
      // What the text warns of: given as EWS_PASSWORD, it is there for the whole run.
      const streams = requestsOf(sim, 'GetStreamingEvents').length;
      const given = startCli(['--json'], { env: { ...env, EWS_PASSWORD: password } });
      await sim.waitFor(() => requestsOf(sim, 'GetStreamingEvents').length > streams, 15_000);
      assert.equal(readFileSync(`/proc/${given.child.pid}/environ`, 'utf8').includes(`EWS_PASSWORD=${password}`), true);
      given.child.kill('SIGTERM');
      assert.equal((await given.result()).code, 0);
    });
  });
});

const bank = { name: 'Woodgrove Bank', address: 'noreply@woodgrovebank.com' };
const adele = { name: 'Adele Vance', address: 'adele.vance@contoso.com' };

/**
 * Every file under a directory with its content, and every file and directory with when it was last written: an
 * atomic rewrite changes a file's time, and a lock file taken and released again changes its directory's.
 */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    out.set(`${d.slice(dir.length)}/`, String(statSync(d).mtimeMs));
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(p.slice(dir.length), `${statSync(p).mtimeMs} ${readFileSync(p, 'utf8')}`);
    }
  };
  walk(dir);
  return out;
}

/** Resolves once `started` holds, or the recipe ended before (so its assertions tell what it did instead). */
async function started(sim: Simulator, ran: Promise<Ran>, test: () => boolean): Promise<void> {
  const connected = sim.waitFor(test, 15_000);
  connected.catch(() => undefined);
  await Promise.race([connected, ran]);
}

/** A normal watcher (the systemd service of the README, say) on the sandbox's state directory; killed when the test ends. */
function service(sim: Simulator, box: Sandbox, t: { after(fn: () => void): void }) {
  // No quiet-period sync while the test looks at the state files.
  const run = startCli(['--events', 'NewMail', '--json'], { env: envFor(sim, { XDG_STATE_HOME: box.env.XDG_STATE_HOME as string, EWS_WATCH_QUIET_SYNC_MS: '600000' }) });
  t.after(() => void run.child.kill('SIGKILL'));
  return run;
}

describe('the wait recipe against a mailbox with a history: only the next mail from the bank', { concurrency: 2 }, () => {
  const wait = recipes().get('wait') as string;

  it('never the one that came while nothing watched (a saved state would catch it up), and the saved state is left alone', async (t) => {
    await withSim({}, async (sim) => {
      const box = sandbox(false, sim);
      const earlier = service(sim, box, t);
      await sim.waitFor(() => sim.connections().length === 1);
      earlier.child.kill('SIGINT');
      assert.equal((await earlier.result()).code, 0, 'an earlier run saved the inbox state');
      const old = sim.deliverMail({ subject: "Yesterday's code: 111111", from: bank }).item!;
      const saved = snapshot(box.env.XDG_STATE_HOME as string);
      assert.ok([...saved.keys()].some((k) => k.endsWith('.json')), 'there is a saved state to catch up from');
      const streams = requestsOf(sim, 'GetStreamingEvents').length;
      const ran = runRecipe(wait, box);
      await started(sim, ran, () => sim.connections().length === 1 && requestsOf(sim, 'GetStreamingEvents').length > streams);
      sim.deliverMail({ subject: 'Lunch?', from: adele });
      const next = sim.deliverMail({ subject: 'Your one-time code: 482913', from: bank }).item!;
      const r = await ran;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      const [line, ...more] = parseLines(readFileSync(join(box.home, 'bank-mail.json'), 'utf8'));
      assert.deepEqual([line?.event, line?.itemId, line?.subject, line?.source, more.length], ['NewMail', next.id, 'Your one-time code: 482913', 'stream', 0]);
      assert.equal(r.stdout, `mail from the bank: ${JSON.stringify(line)}\n`);
      assert.deepEqual(snapshot(box.env.XDG_STATE_HOME as string), saved, 'no state file written, moved or locked');
      // The same recipe without --since now is the bug of issue 9: the old code, caught up from the saved state,
      // which the --since now run left where it was.
      const plain = await runRecipe(wait.replace(' --since now', ''), box, undefined, 30_000);
      assert.equal(plain.code, 0, plain.stderr);
      const [stale] = parseLines(readFileSync(join(box.home, 'bank-mail.json'), 'utf8'));
      assert.deepEqual([stale?.itemId, stale?.source], [old.id, 'catch-up']);
    });
  });

  it('beside a running service: not refused by its lock, and a mail that comes while its own stream is down still comes, as catch-up', async (t) => {
    await withSim({}, async (sim) => {
      const box = sandbox(false, sim);
      const svc = service(sim, box, t);
      await sim.waitFor(() => sim.connections().length === 1);
      const old = sim.deliverMail({ subject: "Yesterday's code: 111111", from: bank }).item!;
      await svc.linesUntil((lines) => lines.some((l) => l.includes(old.id)));
      const stateDir = join(box.env.XDG_STATE_HOME as string, 'ews-watch');
      const [mailboxDir] = readdirSync(stateDir);
      const lockFile = join(stateDir, mailboxDir as string, LOCK_FILE_NAME);
      const lock = readFileSync(lockFile, 'utf8');
      assert.equal((JSON.parse(lock) as { pid: number }).pid, svc.child.pid, 'the service holds the lock');
      const ran = runRecipe(wait, box);
      await started(sim, ran, () => sim.connections().length === 2);
      // Both streams go down; the bank's mail arrives before either is back.
      sim.dropConnections();
      const next = sim.deliverMail({ subject: 'Your one-time code: 482913', from: bank }).item!;
      const r = await ran;
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^ews-watch: warning: [^\n]+; reconnecting in [\d.]+ m?s\n$/, 'one line about its own reconnect, nothing else');
      const [line, ...more] = parseLines(readFileSync(join(box.home, 'bank-mail.json'), 'utf8'));
      assert.deepEqual([line?.event, line?.itemId, line?.subject, line?.source, more.length], ['Created', next.id, 'Your one-time code: 482913', 'catch-up', 0]);
      assert.equal(r.stdout, `mail from the bank: ${JSON.stringify(line)}\n`);
      assert.equal(readFileSync(lockFile, 'utf8'), lock, "the service's lock was never touched");
      // The service saw both mails, each once: the wait took nothing from it.
      await svc.linesUntil((lines) => lines.some((l) => l.includes(next.id)));
      svc.child.kill('SIGINT');
      const s = await svc.result();
      assert.equal(s.code, 0, s.stderr);
      assert.deepEqual(parseLines(s.stdout).map((l) => l.itemId).sort(), [old.id, next.id].sort());
    });
  });

  it('its own subscription lost: a mail that only a catch-up can find (the stream has no queue for it) still comes', async () => {
    await withSim({}, async (sim) => {
      const box = sandbox(false, sim);
      sim.deliverMail({ subject: "Yesterday's code: 111111", from: bank });
      const ran = runRecipe(wait, box);
      await started(sim, ran, () => sim.connections().length === 1);
      const [sub] = sim.subscriptions();
      assert.ok(sub && sim.expireSubscription(sub.id));
      const next = sim.deliverMail({ subject: 'Your one-time code: 482913', from: bank }).item!;
      const r = await ran;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, 'ews-watch: warning: ErrorSubscriptionNotFound: The specified subscription was not found; subscribing again\n');
      const [line, ...more] = parseLines(readFileSync(join(box.home, 'bank-mail.json'), 'utf8'));
      assert.deepEqual([line?.event, line?.itemId, line?.source, more.length], ['Created', next.id, 'catch-up', 0]);
      assert.equal(r.stdout, `mail from the bank: ${JSON.stringify(line)}\n`);
      assert.equal(requestsOf(sim, 'Subscribe').length, 2, 'it subscribed again');
    });
  });
});
