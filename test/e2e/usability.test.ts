// Small things a user trips over, end to end: each runs the built CLI as a person would and checks exit code,
// stdout and stderr together. Empty variables, messages for bad numbers and bad values from the environment or
// .env, a .env with secrets others can read, where `check` says a stored password came from, commands and help,
// the demo (its banner on a 120-column terminal, its credentials, its first mails), Moved lines, the folder key.

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli, startCli } from '../support/cli.js';
import { haveScript, startPty } from '../support/pty.js';
import { envFor, parseLines, requestsOf, withSim } from './helpers.js';

const tempDir = (what: string): string => mkdtempSync(join(tmpdir(), `ews-watch-${what}-`));

describe('variables and values', { concurrency: 2 }, () => {
  it('EWS_STATE_DIR= (empty) means unset: the state goes to $XDG_STATE_HOME/ews-watch, not the current directory', async () => {
    await withSim({}, async (sim) => {
      const cwd = tempDir('cwd');
      const xdg = tempDir('xdg');
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(['--json', '--events', 'NewMail', '--max-events', '1', '-v'], { cwd, env: envFor(sim, { EWS_STATE_DIR: '', XDG_STATE_HOME: xdg }) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseLines(r.stdout).length, 1);
      assert.match(r.stderr, new RegExp(`(^|\\n)ews-watch: state: ${xdg}/ews-watch/alice@contoso\\.com-[0-9a-f]+\\n`));
      assert.deepEqual(readdirSync(cwd), [], 'nothing in the current directory');
      assert.equal(readdirSync(join(xdg, 'ews-watch')).length, 1);
      rmSync(cwd, { recursive: true, force: true });
      rmSync(xdg, { recursive: true, force: true });
    });
  });

  for (const [args, message] of [
    [['--max-events', '-1'], 'ews-watch: --max-events must be a whole number, 1 or more, got -1\n'],
    [['--max-events', '0'], 'ews-watch: --max-events must be 1 or more, got 0\n'],
    [['--debounce', '-1', '--exec', 'true'], 'ews-watch: --debounce takes milliseconds (e.g. 2000) or a duration (500ms, 2s), from 0ms to 10m; got "-1"\n'],
  ] as const) {
    it(`a bad number says what it takes: demo ${args.join(' ')}`, async () => {
      const r = await runCli(['demo', ...args]);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, message);
    });
  }

  it('-v says why the watch stopped: "--max-events reached", "SIGINT" (never "stopped: stopped")', async () => {
    const counted = await runCli(['demo', '--json', '--max-events', '1', '-v'], { env: { EWS_WATCH_DEMO_INTERVAL_MS: '100' } });
    assert.equal(counted.code, 0, counted.stderr);
    assert.equal(parseLines(counted.stdout).length, 1);
    assert.match(counted.stderr, /\news-watch: stopped: --max-events reached\n/);
    const run = startCli(['demo', '--json', '-v'], { env: { EWS_WATCH_DEMO_INTERVAL_MS: '100' } });
    await run.lines(1);
    run.child.kill('SIGINT');
    const r = await run.result();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\news-watch: stopped: SIGINT\n/);
    assert.doesNotMatch(r.stderr, /stopped: stopped/);
  });

  it('a bad value from the environment or .env names the variable and the file, not a flag that was never given', async () => {
    await withSim({}, async (sim) => {
      const fromEnv = await runCli(['--json'], { env: envFor(sim, { EWS_URL: 'mail.contoso.com' }) });
      assert.equal(fromEnv.code, 2);
      assert.equal(fromEnv.stdout, '');
      assert.equal(fromEnv.stderr, 'ews-watch: EWS_URL (from the environment) is not a URL: "mail.contoso.com" (expected e.g. https://mail.contoso.com/EWS/Exchange.asmx)\n');
      const cwd = tempDir('dotenv');
      writeFileSync(join(cwd, '.env'), 'EWS_AUTH=kerberos\n', { mode: 0o600 });
      const dotenv = await runCli(['--json'], { cwd, env: { EWS_URL: sim.url, EWS_USER: sim.credentials.user, EWS_PASSWORD: sim.credentials.password } });
      assert.equal(dotenv.code, 2);
      assert.equal(dotenv.stderr, 'ews-watch: EWS_AUTH in ./.env must be one of auto, basic, ntlm, oauth, token; got "kerberos"\n');
      const file = join(cwd, 'ews.env');
      writeFileSync(file, 'EWS_MAILBOX=alice\n', { mode: 0o600 });
      const envFile = await runCli(['--json', '--env-file', file], { env: envFor(sim) });
      assert.equal(envFile.code, 2);
      assert.equal(envFile.stderr, `ews-watch: EWS_MAILBOX in ${file} must be an SMTP address, got "alice"\n`);
      const flag = await runCli(['--json', '--url', 'mail.contoso.com'], { env: envFor(sim) });
      assert.equal(flag.code, 2);
      assert.match(flag.stderr, /^ews-watch: --url is not a URL: "mail\.contoso\.com"/);
      const login = await runCli(['login', '--password-stdin'], { env: { EWS_URL: 'mail.contoso.com', EWS_USER: 'alice@contoso.com', EWS_KEYCHAIN: 'file', XDG_CONFIG_HOME: cwd }, stdin: 'x\n' });
      assert.equal(login.code, 2);
      assert.equal(login.stderr, 'ews-watch: EWS_URL (from the environment) is not a URL: "mail.contoso.com"\n');
      assert.equal(sim.requests.length, 0);
      rmSync(cwd, { recursive: true, force: true });
    });
  });

  it('.env lines that cannot be read get a warning each, by line number and name, never with their value; the others are read', async () => {
    await withSim({}, async (sim) => {
      const cwd = tempDir('dotenv');
      const lines = [
        '# where to watch',
        `EWS_URL=${sim.url}`,
        'EWS_AUTH=basic',
        `EWS_USER=${sim.credentials.user}`,
        'hunter2-on-its-own',
        'EWS_MAILBOX: alice@contoso.com',
        'EWS_NOTE="spans',
        'two lines"',
        'EWS_PASSWORD="s3cret-typo',
      ];
      writeFileSync(join(cwd, '.env'), `${lines.join('\n')}\n`, { mode: 0o600 });
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(['--json', '--events', 'NewMail', '--max-events', '1'], { cwd, env: { EWS_PASSWORD: sim.credentials.password } });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseLines(r.stdout).length, 1, 'the lines that could be read were used');
      assert.equal(
        r.stderr,
        [
          'ews-watch: warning: ./.env line 5 is not NAME=value; ignored',
          'ews-watch: warning: ./.env line 6 is not NAME=value; ignored',
          'ews-watch: warning: ./.env line 9: EWS_PASSWORD opens a quote that is never closed; ignored',
          '',
        ].join('\n'),
      );
      rmSync(cwd, { recursive: true, force: true });
    });
  });

  it('a .env holding EWS_PASSWORD that other users can read is used, with a warning to chmod 600 it', { skip: process.platform === 'win32' && 'POSIX modes' }, async () => {
    await withSim({}, async (sim) => {
      const cwd = tempDir('dotenv');
      const path = join(cwd, '.env');
      writeFileSync(path, Object.entries(envFor(sim)).map(([k, v]) => `${k}=${v}\n`).join(''));
      chmodSync(path, 0o644);
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'newMail' }, { op: 'stall' }]);
      const open = await runCli(['--json', '--events', 'NewMail', '--max-events', '1'], { cwd });
      assert.equal(open.code, 0, open.stderr);
      assert.equal(parseLines(open.stdout).length, 1);
      assert.equal(open.stderr, 'ews-watch: warning: ./.env holds EWS_PASSWORD and other users can read it (mode 0644); chmod 600 ./.env\n');
      chmodSync(path, 0o600);
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const closed = await runCli(['--json', '--events', 'NewMail', '--max-events', '1'], { cwd });
      assert.equal(closed.code, 0, closed.stderr);
      assert.equal(closed.stderr, '');
      rmSync(cwd, { recursive: true, force: true });
    });
  });

  it('check says a stored password came from the credentials file (not "keychain") when it did', async () => {
    await withSim({}, async (sim) => {
      const config = tempDir('config');
      const env = { EWS_URL: sim.url, EWS_AUTH: 'basic', EWS_USER: sim.credentials.user, EWS_KEYCHAIN: 'file', XDG_CONFIG_HOME: config };
      const login = await runCli(['login', '--password-stdin'], { env, stdin: `${sim.credentials.password}\n` });
      assert.equal(login.code, 0, login.stderr);
      const r = await runCli(['check'], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      const path = join(config, 'ews-watch', 'credentials.json');
      assert.match(r.stdout, new RegExp(`\\n  secret +password +\\(file ${path.replace(/[.]/g, '\\.')} \\(ews-watch login\\)\\)\\n`));
      assert.equal(r.stdout.includes(sim.credentials.password), false);
      rmSync(config, { recursive: true, force: true });
    });
  });
});

describe('commands and help', { concurrency: 2 }, () => {
  it('a mistyped command says "unknown command" and suggests the nearest, exit 2', async () => {
    for (const [args, message] of [
      [['dmeo'], "ews-watch: unknown command 'dmeo' (did you mean demo?)\n"],
      [['chek', '--json'], "ews-watch: unknown command 'chek' (did you mean check?)\n"],
      [['help', 'lgout'], "ews-watch: unknown command 'lgout' (did you mean logout?)\n"],
      [['watch'], "ews-watch: unknown command 'watch' (commands: demo, check, login, logout, help)\n"],
    ] as const) {
      const r = await runCli([...args]);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, message);
    }
  });

  it('`help` prints the help, `help demo` the demo help, -V the version; demo --bogus has the prefix', async () => {
    const help = await runCli(['help']);
    const flag = await runCli(['--help']);
    assert.equal(help.code, 0);
    assert.equal(help.stderr, '');
    assert.equal(help.stdout, flag.stdout);
    assert.match(help.stdout, /^Usage: ews-watch \[options\] \[command\]\n/);
    assert.match(help.stdout, /\n {2}help \[command\] +show the help of ews-watch or of a command\n/);
    const demo = await runCli(['help', 'demo']);
    assert.equal(demo.code, 0);
    assert.match(demo.stdout, /^Usage: ews-watch demo \[options\]\n/);
    const version = await runCli(['-V']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
    assert.equal(version.stdout, (await runCli(['--version'])).stdout);
    const bogus = await runCli(['demo', '--bogus']);
    assert.equal(bogus.code, 2);
    assert.equal(bogus.stdout, '');
    assert.equal(bogus.stderr, "ews-watch: unknown option '--bogus'\n");
    const near = await runCli(['--jsn']);
    assert.equal(near.stderr, "ews-watch: unknown option '--jsn' (did you mean --json?)\n");
  });

  it("help texts: demo's --state-dir default, logout's own sentence, the timeouts' defaults, EWS_KEYCHAIN*", async () => {
    const oneLine = (text: string): string => text.replace(/\n {20,}/g, ' ');
    const demo = oneLine((await runCli(['demo', '--help'])).stdout);
    assert.match(demo, /--state-dir <dir> +where sync states are kept for catching up after gaps and restarts \(EWS_STATE_DIR; default: a temporary directory, removed when the demo ends\)/);
    assert.match(demo, /--print-credentials +print its URL, user and password on stderr first/);
    const logout = (await runCli(['logout', '--help'])).stdout;
    assert.match(logout, /\nRemoves what login stored for this server and user \(with --auth oauth, the token cache\); nothing is sent\nto the server\.\nEWS_KEYCHAIN_SERVICE names the keychain service \(default ews-watch\)\.\n$/);
    assert.doesNotMatch(logout, /tries the stored password/);
    const root = oneLine((await runCli(['--help'])).stdout);
    assert.match(root, /--connection-timeout <minutes> +ConnectionTimeout of each GetStreamingEvents request, 1\.\.30 \(default 30\)/);
    assert.match(root, /--heartbeat-timeout <seconds> +reconnect when nothing at all arrived for this long \(default 90\)/);
    assert.match(root, /--state-dir <dir> +[^\n]*default: \$XDG_STATE_HOME\/ews-watch\)/);
    assert.match(root, /EWS_KEYCHAIN \(auto, keychain, file or\nnone: where `ews-watch login` keeps secrets\) and EWS_KEYCHAIN_SERVICE/);
  });
});

describe('the demo', { concurrency: 2 }, () => {
  it('on a 120-column terminal (a pty from script(1)) no line is wider than the terminal', async (t) => {
    if (!haveScript()) return t.skip('script(1) from util-linux is not installed: no pseudo-terminal to test with');
    // CI=1: no spinner, so the terminal shows only the banner and the event.
    const pty = startPty(t, ['demo', '--max-events', '1', '--color', 'never'], { cols: 120, rows: 40, env: { CI: '1', EWS_WATCH_DEMO_INTERVAL_MS: '100' } });
    const r = await pty.result();
    assert.equal(r.code, 0, r.output);
    // The first line is the pty helper's own pid line.
    const lines = r.output.split(/\r?\n/).filter((l) => l !== '' && !/^pid=\d+$/.test(l));
    assert.match(lines[0] ?? '', /^ews-watch: demo: simulated Exchange at http:\/\/127\.0\.0\.1:\d+\/EWS\/Exchange\.asmx$/);
    assert.equal(lines[1], 'ews-watch: demo: new mail arrives every few seconds; Ctrl-C stops');
    assert.match(lines[2] ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}Created +item in inbox$/);
    for (const l of lines) assert.ok([...l].length <= 120, `${[...l].length} columns: ${JSON.stringify(l)}`);
  });

  it('--print-credentials (and -v) tell how to reach it; check signs in with them while it runs', async () => {
    const demo = startCli(['demo', '--print-credentials', '--json', '-q'], { env: { EWS_WATCH_DEMO_INTERVAL_MS: '60000' } });
    const block = await demo.stderrMatch(/export EWS_URL=\S+\n {2}export EWS_USER=\S+\n {2}export EWS_PASSWORD=\S+\n/);
    assert.match(demo.stderr, /^ews-watch: demo: sign in from another terminal while it runs \(e\.g\. ews-watch check\) with:\n {2}export/);
    const env = Object.fromEntries([...block.matchAll(/export (EWS_\w+)=(\S+)/g)].map((m) => [m[1] as string, m[2] as string]));
    assert.deepEqual(Object.keys(env), ['EWS_URL', 'EWS_USER', 'EWS_PASSWORD']);
    const check = await runCli(['check'], { env });
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /\nall checks passed/);
    demo.child.kill('SIGINT');
    const r = await demo.result();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.includes('EWS_'), false, 'the credentials go to stderr: stdout carries events only');
    parseLines(r.stdout);
    const verbose = startCli(['demo', '--json', '-v'], { env: { EWS_WATCH_DEMO_INTERVAL_MS: '60000' } });
    await verbose.stderrMatch(/export EWS_PASSWORD=\S+\n/);
    verbose.child.kill('SIGINT');
    assert.equal((await verbose.result()).code, 0);
    const plain = startCli(['demo', '--json'], { env: { EWS_WATCH_DEMO_INTERVAL_MS: '100' } });
    await plain.lines(1);
    plain.child.kill('SIGINT');
    assert.doesNotMatch((await plain.result()).stderr, /EWS_PASSWORD/, 'not unless asked');
  });

  it('its mailbox starts with a few mails: demo --backfill reports them first, as catch-up', async () => {
    const r = await runCli(['demo', '--backfill', '--json', '--max-events', '4', '-q'], { env: { EWS_WATCH_DEMO_INTERVAL_MS: '60000' } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const lines = parseLines(r.stdout);
    assert.deepEqual(lines.map((l) => [l.event, l.source, l.folder]), Array(4).fill(['Created', 'catch-up', 'inbox']));
    assert.equal(new Set(lines.map((l) => l.itemId)).size, 4);
  });
});

describe('Moved lines and the folder key', { concurrency: 2 }, () => {
  it('a mail moved out of the watched inbox: pretty names inbox (one id at most), NDJSON has oldFolder', async () => {
    await withSim({}, async (sim) => {
      const [first, second] = [sim.deliverMail({ subject: 'to be filed' }).item!, sim.deliverMail({ subject: 'this one too' }).item!];
      const archive = sim.folder('Archive')!.id;
      const pretty = startCli(['--events', 'Moved', '--format', 'pretty', '--max-events', '1'], { env: envFor(sim) });
      await sim.waitFor(() => sim.connections().length > 0, 15_000);
      sim.moveItem(first.id, 'Archive');
      const p = await pretty.result();
      assert.equal(p.code, 0, p.stderr);
      const cols = p.stdout.replace(/\n$/, '').split('\t');
      assert.deepEqual(cols.slice(1), ['Moved', `item inbox → …${archive.slice(-15)}`, '']);
      const json = startCli(['--events', 'Moved', '--json', '--max-events', '1'], { env: envFor(sim) });
      await sim.waitFor(() => sim.connections().length > 0 && requestsOf(sim, 'Subscribe').length === 2, 15_000);
      sim.moveItem(second.id, 'Archive');
      const j = await json.result();
      assert.equal(j.code, 0, j.stderr);
      const [line] = parseLines(j.stdout);
      assert.equal(line?.event, 'Moved');
      assert.equal(line?.oldFolder, 'inbox');
      assert.equal('folder' in (line ?? {}), false, 'Archive is not watched: no name for it');
    });
  });

  it('with --all-folders both ends are named ("item inbox → Archive"); folder events carry their own name as folder', async () => {
    await withSim({}, async (sim) => {
      const mail = sim.deliverMail({ subject: 'to be filed' }).item!;
      const run = startCli(['--all-folders', '--events', 'Moved', '--format', 'pretty', '--max-events', '1'], { env: envFor(sim) });
      await sim.waitFor(() => sim.connections().length > 0, 15_000);
      sim.moveItem(mail.id, 'Archive');
      const r = await run.result();
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.replace(/\n$/, '').split('\t').slice(1), ['Moved', 'item inbox → Archive', '']);
      const json = startCli(['--all-folders', '--events', 'Modified', '--json', '--max-events', '1'], { env: envFor(sim) });
      await sim.waitFor(() => sim.connections().length > 0 && requestsOf(sim, 'Subscribe').length === 2, 15_000);
      sim.markRead(sim.deliverMail({ subject: 'read me' }).item!.id);
      const j = await json.result();
      assert.equal(j.code, 0, j.stderr);
      const [folderEvent] = parseLines(j.stdout).filter((l) => 'folderId' in l);
      assert.ok(folderEvent, j.stdout);
      assert.equal(folderEvent.folderId, sim.folder('inbox')!.id);
      assert.equal(folderEvent.folder, 'inbox', 'the folder itself, as pretty shows it');
    });
  });

  it('NDJSON folder events have the folder key pretty shows (watching inbox: the unread count of inbox)', async () => {
    await withSim({}, async (sim) => {
      const run = startCli(['--events', 'Modified', '--json', '--max-events', '1'], { env: envFor(sim) });
      await sim.waitFor(() => sim.connections().length > 0, 15_000);
      sim.deliverMail({ subject: 'unread' });
      const r = await run.result();
      assert.equal(r.code, 0, r.stderr);
      const [line] = parseLines(r.stdout);
      assert.equal(line?.folderId, sim.folder('inbox')!.id);
      assert.equal(line?.folder, 'inbox');
      assert.equal(typeof line?.unreadCount, 'number');
    });
  });
});
