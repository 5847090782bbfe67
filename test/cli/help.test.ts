// Commands and help, in-process (test/support/io-streams.ts): mistyped commands, `help`, -V, the help texts, and
// `check --help` against the README. Moved from test/e2e/usability.test.ts ("commands and help") and
// test/e2e/check-live.test.ts ("--help and the README tell the same story"), with the same assertions; help on a
// stdout that cannot be written and help piped to `head -1` stay end to end (test/e2e/exits.test.ts, watch.test.ts).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { repoRoot } from '../support/cli.js';
import { runInProcess } from '../support/io-streams.js';

describe('commands and help', { concurrency: 2 }, () => {
  it('a mistyped command says "unknown command" and suggests the nearest, exit 2', async () => {
    for (const [args, message] of [
      [['dmeo'], "ews-watch: unknown command 'dmeo' (did you mean demo?)\n"],
      [['chek', '--json'], "ews-watch: unknown command 'chek' (did you mean check?)\n"],
      [['help', 'lgout'], "ews-watch: unknown command 'lgout' (did you mean logout?)\n"],
      [['watch'], "ews-watch: unknown command 'watch' (commands: demo, check, login, logout, help)\n"],
    ] as const) {
      const r = await runInProcess([...args]);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, message);
    }
  });

  it('`help` prints the help, `help demo` the demo help, -V the version; demo --bogus has the prefix', async () => {
    const help = await runInProcess(['help']);
    const flag = await runInProcess(['--help']);
    assert.equal(help.code, 0);
    assert.equal(help.stderr, '');
    assert.equal(help.stdout, flag.stdout);
    assert.equal(flag.code, 0);
    assert.match(help.stdout, /^Usage: ews-watch \[options\] \[command\]\n/);
    assert.match(help.stdout, /\n {2}help \[command\] +show the help of ews-watch or of a command\n/);
    const demo = await runInProcess(['help', 'demo']);
    assert.equal(demo.code, 0);
    assert.match(demo.stdout, /^Usage: ews-watch demo \[options\]\n/);
    const version = await runInProcess(['-V']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
    assert.equal(version.stdout, `${(JSON.parse(readFileSync(`${repoRoot}package.json`, 'utf8')) as { version: string }).version}\n`);
    assert.equal(version.stdout, (await runInProcess(['--version'])).stdout);
    const bogus = await runInProcess(['demo', '--bogus']);
    assert.equal(bogus.code, 2);
    assert.equal(bogus.stdout, '');
    assert.equal(bogus.stderr, "ews-watch: unknown option '--bogus'\n");
    const near = await runInProcess(['--jsn']);
    assert.equal(near.stderr, "ews-watch: unknown option '--jsn' (did you mean --json?)\n");
  });

  it("help texts: demo's --state-dir default, logout's own sentence, the timeouts' defaults, EWS_KEYCHAIN*", async () => {
    const oneLine = (text: string): string => text.replace(/\n {20,}/g, ' ');
    const demo = oneLine((await runInProcess(['demo', '--help'])).stdout);
    assert.match(demo, /--state-dir <dir> +where sync states are kept for catching up after gaps and restarts \(EWS_STATE_DIR; default: a temporary directory, removed when the demo ends\)/);
    assert.match(demo, /--print-credentials +print its URL, user and password on stderr first/);
    const logout = (await runInProcess(['logout', '--help'])).stdout;
    assert.match(logout, /\nRemoves what login stored for this server and user \(with --auth oauth, the token cache\); nothing is sent\nto the server\.\nEWS_KEYCHAIN_SERVICE names the keychain service \(default ews-watch\)\.\n$/);
    assert.doesNotMatch(logout, /tries the stored password/);
    const root = oneLine((await runInProcess(['--help'])).stdout);
    assert.match(root, /--connection-timeout <minutes> +ConnectionTimeout of each GetStreamingEvents request, 1\.\.30 \(default 30\)/);
    assert.match(root, /--heartbeat-timeout <seconds> +reconnect when nothing at all arrived for this long \(default 90\)/);
    assert.match(root, /--state-dir <dir> +[^\n]*default: \$XDG_STATE_HOME\/ews-watch\)/);
    assert.match(root, /EWS_KEYCHAIN \(auto, keychain, file or\nnone: where `ews-watch login` keeps secrets\) and EWS_KEYCHAIN_SERVICE/);
  });

  it('help is wrapped to the terminal it is shown on, and to 80 columns off one', async () => {
    // The line of --since (a long description), as commander wraps it to the width it is given.
    const since = (text: string): string => text.split('\n').find((l) => l.includes('--since <when>')) ?? '';
    const pipe = await runInProcess(['--help']);
    const wide = await runInProcess(['--help'], { tty: { stdout: true }, columns: 160 });
    assert.ok([...since(pipe.stdout)].length <= 80, since(pipe.stdout));
    assert.ok([...since(wide.stdout)].length > 80 && [...since(wide.stdout)].length <= 160, since(wide.stdout));
    assert.ok(wide.stdout.split('\n').length < pipe.stdout.split('\n').length);
  });

  it('--help and --version read no setting: no URL, no .env, no keychain needed', async () => {
    const r = await runInProcess(['--help', '--url', 'not a url'], { env: { EWS_AUTH: 'kerberos' }, cwd: '/nonexistent-ews-watch-dir' });
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^Usage: ews-watch/);
  });
});

describe('check --help', () => {
  it('--help and the README tell the same story: the flags, what it writes, each finding', async () => {
    const help = await runInProcess(['check', '--help']);
    assert.equal(help.code, 0);
    assert.equal(help.stderr, '');
    const readme = readFileSync(`${repoRoot}README.md`, 'utf8');
    const section = readme.slice(readme.indexOf('### `check --live`'), readme.indexOf('## Options'));
    const flat = (text: string): string => text.replace(/\s+/g, ' ');
    for (const said of ['--live', '--yes', '--live-minutes', 'HardDelete', 'ews-watch check <date> <time> #<4 hex digits>', 'events arrive in', 'the event came only when the connection closed', 'no byte for', 'the affinity cookie did not come back', "the stream's server did not know the subscription", 'heartbeats']) {
      assert.ok(flat(help.stdout).includes(said), `--help: ${said}`);
      assert.ok(flat(section).includes(said), `README: ${said}`);
    }
    assert.match(flat(help.stdout), /Exit status: 0 all ok, 1 a problem found, 2 usage, 4 sign-in refused, 130 stopped/);
    assert.match(flat(section), /exits 0 when all is well, 1 when a line says `FAIL` .*, 2 for a usage error, 4 when the sign-in is refused, 130 when stopped/);
  });
});
