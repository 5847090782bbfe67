// Many mailboxes on the command line (src/cli/fleet-watch.ts, mailbox-ports.ts), run in-process with a fake fleet and
// a fake transport in place of src/fleet/engine.ts and src/transport/: which list the fleet gets (flags, file, shard),
// SIGHUP adding and removing mailboxes, a file that fails on SIGHUP, and the mailbox ports' one shared output, one
// --max-events count and per-mailbox state.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runWatchCommand } from '../../src/cli/commands/watch.js';
import type { FleetFactories } from '../../src/cli/fleet-watch.js';
import { buildProgram } from '../../src/cli/program.js';
import { guardStdout } from '../../src/cli/stdout.js';
import type { EwsEvent } from '../../src/ews/types.js';
import type { Located } from '../../src/fleet/grouping.js';
import type { Fleet, FleetChange, FleetOptions, FleetTransport, MailboxPort } from '../../src/fleet/types.js';
import { inShard } from '../../src/mailboxes/shard.js';
import { startSimulator } from '../../src/simulator/index.js';
import { createTestIo, type TestIo } from '../support/io-streams.js';
import { makeTestCertificate } from '../support/tls.js';

const root = mkdtempSync(join(tmpdir(), 'ews-watch-fleet-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => mkdtempSync(join(root, `d${++dirs}-`));

const URL_ARGS = ['--url', 'https://mail.contoso.com/EWS/Exchange.asmx', '--user', 'svc@contoso.com'];
const ENV = { EWS_PASSWORD: 'not-a-real-password' };

/** A fleet that opens a port for each mailbox it is given, and records what the command asked of it. */
class FakeFleet implements Fleet {
  readonly ports = new Map<string, MailboxPort>();
  readonly updates: string[][] = [];
  private started!: () => void;
  readonly running = new Promise<void>((resolve) => (this.started = resolve));
  constructor(readonly o: FleetOptions) {}

  get watched(): string[] {
    return [...this.ports.keys()];
  }

  async run(signal: AbortSignal): Promise<{ reason: 'stopped' | 'max-events' }> {
    for (const m of this.o.mailboxes) this.ports.set(m.address, await this.o.ports.open(m));
    this.started();
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
    for (const p of this.ports.values()) await p.close();
    return { reason: signal.reason === 'max-events' ? 'max-events' : 'stopped' };
  }

  async update(list: readonly Located[]): Promise<FleetChange> {
    this.updates.push(list.map((m) => m.address));
    const wanted = new Set(list.map((m) => m.address));
    const removed = this.watched.filter((a) => !wanted.has(a));
    for (const a of removed) {
      await this.ports.get(a)!.close();
      this.ports.delete(a);
    }
    const added = list.filter((m) => !this.ports.has(m.address));
    for (const m of added) this.ports.set(m.address, await this.o.ports.open(m));
    return { added: added.map((m) => m.address), removed, reopenedGroups: [] };
  }
}

function fakes(): { factories: FleetFactories; fleets: FakeFleet[]; asked: string[] } {
  const fleets: FakeFleet[] = [];
  const asked: string[] = [];
  // Anything a test does not expect the ports to ask the server fails loudly.
  const client = new Proxy({}, { get: (_t, name) => async () => Promise.reject(new Error(`unexpected ${String(name)}`)) });
  const transport: FleetTransport = {
    group: () => assert.fail('the command does not open groups itself'),
    mailbox: (address) => (asked.push(address), client as ReturnType<FleetTransport['mailbox']>),
    close: async () => undefined,
  };
  return { fleets, asked, factories: { transport: () => transport, fleet: (o) => (fleets.push(new FakeFleet(o)), fleets.at(-1)!) } };
}

interface Run {
  t: TestIo;
  done: Promise<number>;
}

function start(argv: string[], f: ReturnType<typeof fakes>, env: Record<string, string> = {}, stdin?: string): Run {
  const t = createTestIo(argv, { env: { ...ENV, EWS_STATE_DIR: freshDir(), ...env }, ...(stdin !== undefined ? { stdin } : {}) });
  const ctx = { io: t.io, interrupts: t.interrupts, out: guardStdout(t.io.stdout, t.io.stderr) };
  let code: number | undefined;
  const program = buildProgram(
    {
      watch: async (opts) => void (code = await runWatchCommand(ctx, { ...opts, hooks: [] }, f.factories)),
      demo: async () => assert.fail('demo'),
      login: async () => assert.fail('login'),
      logout: async () => assert.fail('logout'),
      check: async () => assert.fail('check'),
    },
    '0.0.0',
  );
  const done = program.parseAsync(argv, { from: 'user' }).then(() => code ?? -1);
  return { t, done };
}

/** Waits (by turns of the event loop, no clock) until `cond` holds; fails after many turns, with what stderr said. */
async function until(cond: () => boolean, what: string, run?: Run): Promise<void> {
  for (let i = 0; i < 100_000; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  assert.fail(`never: ${what}${run ? `; stderr: ${run.t.stderr()}` : ''}`);
}

async function stop(run: Run): Promise<number> {
  run.t.signals.send('SIGTERM');
  return run.done;
}

function newMail(n: number): EwsEvent {
  return { type: 'NewMail', subscriptionId: 'sub', timestamp: '2026-12-02T08:00:00Z', kind: 'item', target: { id: `item-${n}`, changeKey: 'ck' }, parentFolderId: { id: 'inbox-id' } };
}

describe('fleet watch: the list', () => {
  it('--mailbox a,b --mailbox c: the fleet gets the three, on the --url, and NDJSON names each event\'s mailbox', async () => {
    const f = fakes();
    const run = start([...URL_ARGS, '--mailbox', 'a@contoso.com,b@contoso.com', '--mailbox', 'c@contoso.com', '--json'], f);
    await until(() => f.fleets[0]?.ports.size === 3, 'three ports');
    const fleet = f.fleets[0]!;
    assert.deepEqual(fleet.o.mailboxes, ['a', 'b', 'c'].map((x) => ({ address: `${x}@contoso.com`, ewsUrl: 'https://mail.contoso.com/EWS/Exchange.asmx' })));
    assert.equal(fleet.o.url, 'https://mail.contoso.com/EWS/Exchange.asmx');
    assert.equal(fleet.ports.get('b@contoso.com')!.event(newMail(1)), 'more');
    assert.equal(fleet.ports.get('c@contoso.com')!.event(newMail(2)), 'more');
    await until(() => run.t.stdout().split('\n').length > 2, 'two lines');
    assert.equal(await stop(run), 0);
    const lines = run.t.stdout().trim().split('\n').map((l) => JSON.parse(l) as { mailbox: string; itemId: string });
    assert.deepEqual(lines.map((l) => [l.mailbox, l.itemId]), [['b@contoso.com', 'item-1'], ['c@contoso.com', 'item-2']]);
    assert.deepEqual(f.asked.sort(), ['a@contoso.com', 'b@contoso.com', 'c@contoso.com']);
    assert.doesNotMatch(run.t.stderr(), /error|warn/i);
  });

  it('one --max-events count across mailboxes: the third event of any mailbox ends the watch, exit 0', async () => {
    const f = fakes();
    const run = start([...URL_ARGS, '--mailbox', 'a@contoso.com,b@contoso.com', '--json', '--max-events', '3'], f);
    await until(() => f.fleets[0]?.ports.size === 2, 'two ports');
    const { ports } = f.fleets[0]!;
    ports.get('a@contoso.com')!.event(newMail(1));
    ports.get('b@contoso.com')!.event(newMail(2));
    ports.get('a@contoso.com')!.event(newMail(3));
    assert.equal(await run.done, 0);
    assert.equal(run.t.stdout().trim().split('\n').length, 3);
  });

  it('each mailbox keeps its own state directory, locked while watched and released after', async () => {
    const f = fakes();
    const state = freshDir();
    const run = start([...URL_ARGS, '--mailbox', 'a@contoso.com,b@contoso.com', '--json'], f, { EWS_STATE_DIR: state });
    await until(() => f.fleets[0]?.ports.size === 2, 'two ports');
    const mailboxDirs = readdirSync(state).filter((d) => d !== 'autodiscover.json');
    assert.equal(mailboxDirs.length, 2);
    for (const d of mailboxDirs) assert.ok(readdirSync(join(state, d)).some((n) => n.includes('lock')), `a lock in ${d}`);
    assert.equal(await stop(run), 0);
    for (const d of mailboxDirs) assert.ok(!readdirSync(join(state, d)).some((n) => n.includes('lock')), `no lock left in ${d}`);
  });

  it('--mailboxes-file with a comment and a duplicate, plus --mailbox: all of them once, the duplicate warned about', async () => {
    const f = fakes();
    const file = join(freshDir(), 'list.txt');
    writeFileSync(file, '# the team\nann@contoso.com\nbob@contoso.com  # on leave\nAnn@contoso.com\n');
    const run = start([...URL_ARGS, '--mailboxes-file', file, '--mailbox', 'bob@contoso.com,cy@contoso.com'], f);
    await until(() => f.fleets[0]?.ports.size === 3, 'three ports');
    assert.deepEqual(f.fleets[0]!.o.mailboxes.map((m) => m.address), ['bob@contoso.com', 'cy@contoso.com', 'ann@contoso.com']);
    assert.equal(await stop(run), 0);
    assert.match(run.t.stderr(), new RegExp(`ews-watch: warning: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4: Ann@contoso.com is also on line 2 \\(as ann@contoso.com\\); watched once\\n|:4: Ann@contoso.com is also on line 2`));
  });

  it('--mailboxes-file - reads standard input', async () => {
    const f = fakes();
    const run = start([...URL_ARGS, '--mailboxes-file', '-'], f, {}, 'x@contoso.com\ny@contoso.com\n');
    await until(() => f.fleets[0]?.ports.size === 2, 'two ports');
    assert.equal(await stop(run), 0);
  });

  it('a bad line: one line naming file and line, exit 2, and the fleet never made', async () => {
    const f = fakes();
    const file = join(freshDir(), 'list.txt');
    writeFileSync(file, 'ann@contoso.com\nBob Smith <bob@contoso.com>\n');
    const run = start([...URL_ARGS, '--mailboxes-file', file], f);
    assert.equal(await run.done, 2);
    assert.equal(run.t.stderr(), `ews-watch: ${file}:2: "Bob Smith <bob@contoso.com>" is not an email address: write the address alone, bob@contoso.com\n`);
    assert.equal(f.fleets.length, 0);
    assert.equal(run.t.stdout(), '');
  });

  it('a missing file: exit 2, one line', async () => {
    const f = fakes();
    const run = start([...URL_ARGS, '--mailboxes-file', join(root, 'nope.txt')], f);
    assert.equal(await run.done, 2);
    assert.match(run.t.stderr(), /^ews-watch: --mailboxes-file .*nope\.txt: cannot read it: .*ENOENT.*\n$/);
  });
});

describe('fleet watch: --shard', () => {
  const all = Array.from({ length: 12 }, (_, i) => `user${i}@contoso.com`);

  it('three shards of one list: each gets its own part, together all of them, none twice', async () => {
    const file = join(freshDir(), 'list.txt');
    writeFileSync(file, `${all.join('\n')}\n`);
    const seen: string[] = [];
    for (let k = 0; k < 3; k++) {
      const f = fakes();
      const run = start([...URL_ARGS, '--mailboxes-file', file, '--shard', `${k}/3`], f);
      await until(() => f.fleets[0] !== undefined, 'the fleet');
      await f.fleets[0]!.running;
      const mine = f.fleets[0]!.o.mailboxes.map((m) => m.address);
      assert.deepEqual(mine, all.filter((a) => inShard(a, { index: k, count: 3 })));
      seen.push(...mine);
      assert.equal(await stop(run), 0);
    }
    assert.deepEqual(seen.sort(), [...all].sort());
  });

  it('EWS_SHARD from the environment, --shard beating it', async () => {
    const f = fakes();
    const run = start([...URL_ARGS, '--mailbox', all.join(','), '--shard', '1/2'], f, { EWS_SHARD: '0/2' });
    await until(() => f.fleets[0] !== undefined, 'the fleet');
    await f.fleets[0]!.running;
    assert.deepEqual(f.fleets[0]!.o.mailboxes.map((m) => m.address), all.filter((a) => inShard(a, { index: 1, count: 2 })));
    assert.equal(await stop(run), 0);
  });

  it('a shard with no mailbox: a warning, and the process idles until stopped (exit 0)', async () => {
    const f = fakes();
    const run = start([...URL_ARGS, '--mailbox', 'a@contoso.com', '--shard', `${inShard('a@contoso.com', { index: 0, count: 2 }) ? 1 : 0}/2`], f);
    await until(() => f.fleets[0] !== undefined, 'the fleet');
    await f.fleets[0]!.running;
    assert.deepEqual(f.fleets[0]!.o.mailboxes, []);
    assert.equal(await stop(run), 0);
    assert.match(run.t.stderr(), /ews-watch: warning: --shard [01]\/2: none of the 1 mailboxes falls in this shard; idling until stopped\n/);
  });

  it('--shard 3/3: exit 2, one line saying K must be below N', async () => {
    const f = fakes();
    const run = start([...URL_ARGS, '--mailbox', 'a@contoso.com,b@contoso.com', '--shard', '3/3'], f);
    assert.equal(await run.done, 2);
    assert.equal(run.t.stderr(), 'ews-watch: --shard 3/3: K must be below N, as shards are numbered from 0 (0/3 to 2/3)\n');
  });
});

describe('fleet watch: SIGHUP', () => {
  it('adds and removes mailboxes as the file now says; the kept ones are left alone', async () => {
    const f = fakes();
    const file = join(freshDir(), 'list.txt');
    writeFileSync(file, 'a@contoso.com\nb@contoso.com\n');
    const run = start([...URL_ARGS, '--mailboxes-file', file], f);
    await until(() => f.fleets[0]?.ports.size === 2, 'two ports', run);
    const fleet = f.fleets[0]!;
    const keptPort = fleet.ports.get('b@contoso.com');
    writeFileSync(file, 'B@contoso.com\nc@contoso.com\n');
    run.t.signals.send('SIGHUP');
    await until(() => fleet.updates.length === 1 && fleet.ports.has('c@contoso.com'), 'the update');
    assert.deepEqual(fleet.updates, [['b@contoso.com', 'c@contoso.com']]);
    assert.equal(fleet.ports.get('b@contoso.com'), keptPort);
    assert.deepEqual(fleet.watched.sort(), ['b@contoso.com', 'c@contoso.com']);
    await until(() => /read again/.test(run.t.stderr()), 'the line');
    assert.equal(await stop(run), 0);
    assert.match(run.t.stderr(), new RegExp(`SIGHUP: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} read again: 1 added, 1 removed, 2 watched\\n`));
  });

  it('a file that no longer parses: the old list stays, said in one line', async () => {
    const f = fakes();
    const file = join(freshDir(), 'list.txt');
    writeFileSync(file, 'a@contoso.com\nb@contoso.com\n');
    const run = start([...URL_ARGS, '--mailboxes-file', file], f);
    await until(() => f.fleets[0]?.ports.size === 2, 'two ports');
    writeFileSync(file, 'a@contoso.com\nnot an address\n');
    run.t.signals.send('SIGHUP');
    await until(() => /SIGHUP/.test(run.t.stderr()), 'the line');
    assert.equal(f.fleets[0]!.updates.length, 0);
    assert.equal(f.fleets[0]!.ports.size, 2);
    assert.equal(await stop(run), 0);
    assert.match(run.t.stderr(), new RegExp(`ews-watch: warning: SIGHUP: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: "not an address" is not an email address; still watching the 2 mailboxes of the last good reading\\n`));
  });

  it('an emptied file is refused the same way: it cannot unsubscribe everything', async () => {
    const f = fakes();
    const file = join(freshDir(), 'list.txt');
    writeFileSync(file, 'a@contoso.com\nb@contoso.com\n');
    const run = start([...URL_ARGS, '--mailboxes-file', file], f);
    await until(() => f.fleets[0]?.ports.size === 2, 'two ports');
    writeFileSync(file, '');
    run.t.signals.send('SIGHUP');
    await until(() => /SIGHUP/.test(run.t.stderr()), 'the line');
    assert.equal(f.fleets[0]!.updates.length, 0);
    assert.equal(await stop(run), 0);
    assert.match(run.t.stderr(), /names no mailbox.*still watching the 2 mailboxes/);
  });

  it('without a file: logged and ignored, the watch goes on', async () => {
    const f = fakes();
    const run = start([...URL_ARGS, '--mailbox', 'a@contoso.com,b@contoso.com'], f);
    await until(() => f.fleets[0]?.ports.size === 2, 'two ports');
    run.t.signals.send('SIGHUP');
    await until(() => /SIGHUP/.test(run.t.stderr()), 'the line');
    assert.equal(f.fleets[0]!.updates.length, 0);
    assert.equal(await stop(run), 0);
    assert.match(run.t.stderr(), /ews-watch: SIGHUP: there is no --mailboxes-file to read again; ignored\n/);
  });
});

describe('fleet watch: one mailbox stays today\'s watch', () => {
  it('one --mailbox makes no fleet', async () => {
    const f = fakes();
    // No server: the one-mailbox watch fails to connect, which is enough to see it was that path.
    const run = start(['--url', 'http://127.0.0.1:9/EWS/Exchange.asmx', '--user', 'svc@contoso.com', '--auth', 'basic', '--mailbox', 'a@contoso.com', '--json'], f, { EWS_WATCH_ANSWER_TIMEOUT_MS: '200' });
    await until(() => run.t.stderr() !== '', 'a line');
    run.t.signals.send('SIGTERM');
    await run.done;
    assert.equal(f.fleets.length, 0);
  });
});

describe('fleet watch: without --url, autodiscover places each mailbox', () => {
  it('batched GetUserSettings: each mailbox with its EWS URL and GroupingInformation; an unknown one warned about and left out; the next start asks nothing', async () => {
    const cert = makeTestCertificate('ews-watch fleet autodiscover CA', ['contoso.test', 'autodiscover.contoso.test']);
    const caDir = freshDir();
    writeFileSync(join(caDir, 'ca.pem'), cert.ca);
    const sim = await startSimulator({ heartbeatMs: 60_000, mailbox: 'svc@contoso.test', mailboxes: ['ann@contoso.test', 'bob@contoso.test'], backends: 2, tls: { key: cert.key, cert: cert.cert } });
    try {
      const env = {
        EWS_PASSWORD: sim.credentials.password,
        EWS_AUTH: 'basic',
        EWS_CA_FILE: join(caDir, 'ca.pem'),
        EWS_WATCH_DNS: JSON.stringify({ hosts: { 'contoso.test:443': `127.0.0.1:${sim.port}` } }),
        EWS_STATE_DIR: freshDir(),
      };
      const argv = ['--user', 'svc@contoso.test', '--mailbox', 'ann@contoso.test,bob@contoso.test,nobody@contoso.test'];
      const soapPosts = (): number => sim.requests.filter((r) => r.method === 'POST' && /autodiscover\.svc$/i.test(r.path)).length;
      const f = fakes();
      const run = start(argv, f, env);
      await until(() => f.fleets[0] !== undefined, 'the fleet', run);
      await f.fleets[0]!.running;
      const placed = f.fleets[0]!.o.mailboxes;
      assert.deepEqual(placed.map((m) => [m.address, m.ewsUrl]), [['ann@contoso.test', sim.url], ['bob@contoso.test', sim.url]]);
      assert.ok(placed.every((m) => m.groupingInformation !== undefined && m.groupingInformation !== ''), JSON.stringify(placed));
      assert.equal(f.fleets[0]!.o.url, undefined);
      assert.equal(soapPosts(), 1, 'one GetUserSettings for the three');
      assert.equal(await stop(run), 0);
      assert.match(run.t.stderr(), /ews-watch: warning: nobody@contoso\.test: left out: .*\n/);

      const f2 = fakes();
      const again = start(argv, f2, env);
      await until(() => f2.fleets[0] !== undefined, 'the fleet', again);
      await f2.fleets[0]!.running;
      assert.deepEqual(f2.fleets[0]!.o.mailboxes, placed);
      assert.equal(soapPosts(), 2, 'only the unknown one is asked again');
      assert.equal(await stop(again), 0);
    } finally {
      await sim.close();
    }
  });
});
