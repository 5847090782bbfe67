// End to end, back-pressure instead of loss or growth (issue 13, item 2): when stdout's reader, --details lookups or
// hook runs cannot keep up with a burst, the CLI stops reading the stream and Exchange (here the simulator's flood,
// which writes each envelope only once the socket takes more) keeps the rest. Asserted as counts and sizes: every
// event printed once, every mail with its details, every hook run, the simulator held back, peak RSS under a bound.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Simulator } from '../../src/simulator/types.js';
import { startCli, type CliRun } from '../support/cli.js';
import { envFor, parseLines, withSim } from './helpers.js';

const linux = existsSync('/proc/self/status');

/** Peak resident set of a running process (VmHWM), in MiB. */
function peakRssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) / 1024;
}

/** Flood envelopes the simulator has begun to write (it records each before its first byte). */
const floodSent = (sim: Simulator): number => sim.sent.filter((s) => s.kind === 'notification' && s.events !== undefined).length;

/** Counts the CLI's stdout lines as they arrive (startCli keeps the text too) and lets the test stop reading. */
function lineCounter(run: CliRun): { readonly lines: number; when(n: number): Promise<void> } {
  let lines = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  run.child.stdout.on('data', (d: string) => {
    for (let i = d.indexOf('\n'); i >= 0; i = d.indexOf('\n', i + 1)) lines += 1;
    for (const w of waiters.filter((x) => lines >= x.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  return {
    get lines() {
      return lines;
    },
    when: (n) => (lines >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
  };
}

describe('back-pressure: a burst waits at the server, nothing is lost and memory stays bounded', () => {
  it('6,000 mails (18,000 events, envelopes padded to 16 KB) with a reader that stops: the simulator is held back, every event printed once, peak RSS under 160 MiB', { skip: !linux && 'needs /proc' }, async () => {
    // 5,000 mails after the stop: more than a CLI without back-pressure takes in meanwhile (4,843 seen), so the bound
    // below still tells the two apart.
    const mails = 6_000;
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'flood', count: mails, padTo: 16_384 }]);
      const run = startCli(['--json'], { env: envFor(sim) });
      const counter = lineCounter(run);
      // The reader stops after 1,000 mails' lines, and stays stopped until the simulator's writes have backed up.
      await counter.when(3_000);
      run.child.stdout.pause();
      const readAtStop = counter.lines;
      // The wall clock only as a slow reader has it: five seconds stopped, long enough for a CLI that reads on to take
      // in thousands of envelopes, even on a loaded machine (a CLI without back-pressure took in over 2,000 in 2 s).
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      const sentWhileStopped = floodSent(sim);
      // What the socket buffers, Node's stdout buffer (1 MiB of lines) and the pipe hold: some 2,000 envelopes.
      assert.ok(sentWhileStopped - readAtStop / 3 < 3_000, `the simulator wrote ${sentWhileStopped} envelopes while the reader had read ${readAtStop} lines`);
      run.child.stdout.resume();
      await counter.when(3 * mails);
      const peak = peakRssOf(run.child.pid!);
      run.child.kill('SIGINT');
      const r = await run.result(60_000);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      const lines = parseLines(r.stdout);
      const items = sim.items('inbox').filter((i) => i.subject.startsWith('flood '));
      assert.equal(items.length, mails);
      assert.deepEqual(
        lines.filter((l) => l.event === 'NewMail').map((l) => l.itemId),
        items.map((i) => i.id),
        'every mail once, in order',
      );
      assert.equal(lines.length, 3 * mails);
      assert.ok(peak < 160, `peak RSS through ${3 * mails} events with a stopped reader: ${peak.toFixed(0)} MiB`);
    });
  });

  it('--details, a burst of 6,000 mails: every mail is printed with its details, none "not fetched"', async () => {
    const mails = 6_000;
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'flood', count: mails }]);
      const r = await startCli(['--json', '--details', '--max-events', String(3 * mails)], { env: envFor(sim) }).result(240_000);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      const lines = parseLines(r.stdout);
      assert.equal(lines.length, 3 * mails);
      const items = sim.items('inbox').filter((i) => i.subject.startsWith('flood '));
      const subjectOf = new Map(items.map((i) => [i.id, i.subject]));
      const itemLines = lines.filter((l) => l.event === 'Created' || l.event === 'NewMail');
      assert.equal(itemLines.length, 2 * mails);
      assert.deepEqual(
        itemLines.filter((l) => l.subject !== subjectOf.get(l.itemId as string)).map((l) => [l.event, l.itemId, l.detailsError]),
        [],
        'every Created and NewMail carries its own subject',
      );
      assert.doesNotMatch(r.stdout, /not fetched|detailsError/);
    });
  });

  it('--exec, a burst of 1,000 mails: every hook run happens (the hook appends one line per run), none dropped', async () => {
    // Four times the 256 waiting runs at which the stream stops being read: the bound is met and left many times.
    const mails = 1_000;
    const dir = mkdtempSync(join(tmpdir(), 'ews-watch-bp-hooks-'));
    const log = join(dir, 'runs');
    try {
      await withSim({}, async (sim) => {
        sim.script('GetStreamingEvents', [{ op: 'flood', count: mails }]);
        const hook = ['--on', 'NewMail', '--exec', '/bin/sh', '-c', 'printf "%s\\n" "$EWS_ITEM_ID" >> "$1"', 'hook', log];
        const r = await startCli(['--json', '--max-events', String(3 * mails), ...hook], { env: envFor(sim) }).result(240_000);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, '');
        assert.equal(parseLines(r.stdout).length, 3 * mails);
        const runs = readFileSync(log, 'utf8').split('\n').slice(0, -1);
        const items = sim.items('inbox').filter((i) => i.subject.startsWith('flood '));
        assert.equal(runs.length, mails);
        assert.deepEqual([...runs].sort(), items.map((i) => i.id).sort(), 'one run per mail, each mail once');
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
