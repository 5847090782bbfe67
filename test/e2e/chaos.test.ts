// The chaos test of catching up: while a driver creates, modifies, reads, moves and deletes items in the watched
// inbox, connections are dropped (mid-envelope when one is in flight), subscriptions are lost, the server
// throttles, and the ews-watch process is killed with SIGKILL and restarted at random moments. At the end every
// change must be in the union of the outputs (none missed) and none twice. Seeds come from CHAOS_SEEDS (comma
// list) or a fixed set; each run prints its seed and figures so a failure can be replayed.
//
// What "missed" means follows what Exchange can know (README, "Catching up"): a sync reports net changes, so an
// item created and removed while nobody printed it needs no line, and a modification folded into a Create or
// Delete that a catch-up printed after it needs none either. The simulator's notifications carry placeholder
// ChangeKeys, as Exchange's do: a change the stream did not report, to an item whose creation the stream printed,
// can be told from that line only by a ChangeKey the watcher learnt for the item afterwards (from the first sync
// that reports it, or GetItem with --details; -v says which). When the first one learnt is already the item's
// ChangeKey after the change, the change is folded into what was printed and needs no line (README, Limits).

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Simulator } from '../../src/simulator/types.js';
import { startCli, type CliRun } from '../support/cli.js';
import { seededRandom } from '../support/random.js';
import { envFor, withSim } from './helpers.js';

const SEEDS = (process.env.CHAOS_SEEDS ?? '11,23,47').split(',').map((s) => Number(s.trim())).filter(Number.isFinite);
const OPS = Number(process.env.CHAOS_OPS ?? 300);


interface Truth {
  /** undefined: in the inbox before the first process started. */
  createdAt?: number;
  modifiedAt?: number;
  /** The item's ChangeKey right after that modification. */
  modifiedKey?: string;
  goneAt?: number;
}

/** A ChangeKey the watcher learnt for an item the stream printed (its -v line), when the test read it. */
interface Learnt {
  at: number;
  /** The item id's last 8 characters, as the line shows it. */
  suffix: string;
  changeKey: string;
}

interface Line {
  at: number;
  /** Which process printed it (1, 2, …). */
  proc: number;
  rec: Record<string, unknown>;
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function chaos(seed: number, extraArgs: string[] = []): Promise<void> {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: T[]): T | undefined => (xs.length ? xs[Math.floor(rnd() * xs.length)] : undefined);
  await withSim({ heartbeatMs: 500 }, async (sim: Simulator) => {
    const truth = new Map<string, Truth>();
    const archive: string[] = [];
    for (let i = 0; i < 8; i += 1) truth.set(sim.deliverMail({ subject: `baseline ${i}` }).item!.id, {});
    for (let i = 0; i < 6; i += 1) {
      const moved = sim.moveItem(sim.deliverMail({ subject: `archived ${i}` }).item!.id, 'Archive').item!;
      archive.push(moved.id);
    }
    // Items delivered then moved before the first start are not part of the story.
    for (const id of [...truth.keys()]) if (!sim.items('inbox').some((x) => x.id === id)) truth.delete(id);

    const env = envFor(sim, {
      XDG_STATE_HOME: mkdtempSync(join(tmpdir(), 'ews-watch-chaos-')),
      EWS_WATCH_QUIET_SYNC_MS: '300',
      EWS_WATCH_SYNC_PAGE_SIZE: '4',
    });
    const lines: Line[] = [];
    const learnt: Learnt[] = [];
    const warnings: string[] = [];
    let t0: number | undefined;
    const figures = { changes: 0, restarts: 0, kills: 0, drops: 0, expired: 0, throttled: 0 };
    let run: CliRun | undefined;
    let procs = 0;
    const start = (): CliRun => {
      const proc = (procs += 1);
      const r = startCli(['--json', '-v', '--heartbeat-timeout', '2', ...extraArgs], { env });
      let buf = '';
      r.child.stdout.on('data', (d: string) => {
        buf += d;
        const parts = buf.split('\n');
        buf = parts.pop() ?? '';
        for (const p of parts) if (p) lines.push({ at: Date.now(), proc, rec: JSON.parse(p) as Record<string, unknown> });
      });
      let ebuf = '';
      r.child.stderr.on('data', (d: string) => {
        ebuf += d;
        const parts = ebuf.split('\n');
        ebuf = parts.pop() ?? '';
        for (const p of parts) {
          const m = /^ews-watch: catch-up: …(\S{8}) printed by the stream: ChangeKey (\S+) learnt(?: \(from [^)]+\))?$/.exec(p);
          if (m) learnt.push({ at: Date.now(), suffix: m[1]!, changeKey: m[2]! });
          if (!/^ews-watch: [<>] [a-z-]+:/.test(p)) warnings.push(`${Date.now() - (t0 ?? Date.now())}ms p${proc}: ${p}`);
        }
      });
      return r;
    };
    const connected = async (): Promise<void> => {
      const before = sim.requests.filter((q) => q.operation === 'GetStreamingEvents').length;
      await sim.waitFor(() => sim.requests.filter((q) => q.operation === 'GetStreamingEvents').length > before, 20_000);
    };

    run = start();
    await connected();
    t0 = Date.now();
    let down: Promise<void> | undefined;
    for (let i = 0; i < OPS; i += 1) {
      const now = Date.now();
      const inbox = sim.items('inbox').map((x) => x.id);
      const roll = rnd();
      if (roll < 0.34 || inbox.length < 3) {
        truth.set(sim.deliverMail({ subject: `mail ${i}` }).item!.id, { createdAt: now });
      } else if (roll < 0.56) {
        const id = pick(inbox.filter((x) => truth.get(x)?.modifiedAt === undefined));
        if (id) {
          // Marking an item read that is read already (moved in from the archive, say) changes nothing.
          const unread = sim.items('inbox').some((x) => x.id === id && !x.isRead);
          const changed = unread && rnd() < 0.5 ? sim.markRead(id) : sim.modifyItem(id, { subject: `edited ${i}` });
          Object.assign(truth.get(id)!, { modifiedAt: now, modifiedKey: changed.item!.changeKey });
        }
      } else if (roll < 0.7) {
        const id = pick(inbox);
        if (id) {
          archive.push(sim.moveItem(id, 'Archive').item!.id);
          truth.get(id)!.goneAt = now;
        }
      } else if (roll < 0.82) {
        const id = archive.splice(Math.floor(rnd() * archive.length), 1)[0];
        if (id) truth.set(sim.moveItem(id, 'inbox').item!.id, { createdAt: now });
      } else {
        const id = pick(inbox);
        if (id) {
          sim.deleteItem(id, { hard: rnd() < 0.5 });
          truth.get(id)!.goneAt = now;
        }
      }
      figures.changes += 1;
      const fault = rnd();
      if (fault < 0.035) figures.drops += sim.dropConnections() > 0 ? 1 : 0;
      else if (fault < 0.06) {
        for (const s of sim.subscriptions()) if (sim.expireSubscription(s.id)) figures.expired += 1;
      } else if (fault < 0.08) {
        sim.script('SyncFolderItems', { fault: 'ErrorServerBusy', backOffMs: 300 });
        figures.throttled += 1;
      } else if (fault < 0.095 && run && !down) {
        run.child.kill('SIGKILL');
        figures.kills += 1;
        const dead = run;
        run = undefined;
        const pause = 100 + Math.floor(rnd() * 700);
        down = (async () => {
          await dead.result();
          await delay(pause);
          run = start();
          figures.restarts += 1;
          down = undefined;
        })();
      }
      await delay(20 + Math.floor(rnd() * 30));
    }
    await down;
    // Let the last process settle (a quiet-period sync), stop it, and let one more start catch up from the state.
    await delay(1500);
    run!.child.kill('SIGINT');
    assert.equal((await run!.result()).code, 0);
    const last = start();
    await connected();
    await delay(500);
    last.child.kill('SIGINT');
    assert.equal((await last.result()).code, 0);

    // What was printed, per item and kind of change (NewMail is an extra notice of a Created, not a change).
    const printed = new Map<string, Line[]>();
    const add = (kind: string, id: unknown, l: Line): void => {
      if (typeof id !== 'string') return;
      const k = `${kind}:${id}`;
      printed.set(k, [...(printed.get(k) ?? []), l]);
    };
    for (const l of lines) {
      const r = l.rec;
      if (r.itemId === undefined) continue;
      if (r.event === 'Created' || r.event === 'Copied' || r.event === 'Moved') add('create', r.itemId, l);
      if (r.event === 'Moved') add('delete', r.oldItemId, l);
      if (r.event === 'Modified') add('modify', r.itemId, l);
      if (r.event === 'Deleted') add('delete', r.itemId, l);
      if (r.event === 'NewMail') add('newmail', r.itemId, l);
    }
    const seen = (id: string): boolean => ['create', 'modify', 'newmail'].some((k) => printed.has(`${k}:${id}`));
    const catchUpAfter = (kind: string, id: string, t: number): boolean => (printed.get(`${kind}:${id}`) ?? []).some((l) => l.rec.source === 'catch-up' && l.at >= t);
    /** The first ChangeKey the watcher learnt for an item the stream printed: a sync's (-v), or a --details line's. */
    const firstLearnt = (id: string): string | undefined => {
      const fromSync = learnt.filter((x) => x.suffix === id.slice(-8));
      const fromDetails = lines.filter((l) => l.rec.itemId === id && l.rec.source === 'stream' && typeof l.rec.changeKey === 'string').map((l) => ({ at: l.at, changeKey: String(l.rec.changeKey) }));
      return [...fromSync, ...fromDetails].sort((a, b) => a.at - b.at)[0]?.changeKey;
    };
    const streamedCreate = (id: string): boolean => (printed.get(`create:${id}`) ?? []).some((l) => l.rec.source === 'stream');
    const missed: string[] = [];
    let obligations = 0;
    let unknowable = 0;
    const inboxNow = new Set(sim.items('inbox').map((x) => x.id));
    for (const [id, t] of truth) {
      const here = inboxNow.has(id);
      if (t.createdAt !== undefined && here) {
        obligations += 1;
        if (!printed.has(`create:${id}`)) missed.push(`create ${id.slice(-12)} (created ${t.createdAt - t0} ms)`);
      }
      if (t.goneAt !== undefined && (t.createdAt === undefined || seen(id))) {
        obligations += 1;
        if (!printed.has(`delete:${id}`)) missed.push(`delete ${id.slice(-12)} (gone ${t.goneAt - t0} ms, printed before: ${[...printed].filter(([k]) => k.endsWith(id)).map(([k, ls]) => `${k.slice(0, 6)} ${ls.map((l) => `${l.at - t0}ms p${l.proc}`).join('/')}`).join('; ')})`);
      }
      if (t.modifiedAt === undefined || printed.has(`modify:${id}`)) {
        if (t.modifiedAt !== undefined) obligations += 1;
        continue;
      }
      // Folded into a Create or Delete a catch-up printed after it, or never seen at all and gone again.
      const folded = catchUpAfter('create', id, t.modifiedAt) || (!here && (catchUpAfter('delete', id, t.modifiedAt) || !seen(id)));
      if (!folded && streamedCreate(id) && firstLearnt(id) === t.modifiedKey) {
        // The stream printed the item, and the first ChangeKey learnt for it already had this change in it.
        unknowable += 1;
        continue;
      }
      obligations += 1;
      if (!folded) {
        const about = lines.filter((l) => l.rec.itemId === id || l.rec.oldItemId === id).map((l) => `${String(l.rec.event)}/${String(l.rec.source)}@${l.at - t0}p${l.proc}`);
        missed.push(`modify ${id} (at ${t.modifiedAt - t0} ms, ${here ? 'still there' : `gone at ${(t.goneAt ?? 0) - t0}`}, created ${t.createdAt === undefined ? 'before' : t.createdAt - t0}; first ChangeKey learnt ${firstLearnt(id) ?? 'none'}, after the change ${t.modifiedKey}; lines: ${about.join(' ')})`);
      }
    }
    const duplicated = [...printed].filter(([k, ls]) => !k.startsWith('newmail:') && ls.length > 1).map(([k, ls]) => `${k.slice(0, 7)}…${k.slice(-12)} ×${ls.length} (${ls.map((l) => `${String(l.rec.event)} ${String(l.rec.source)} in process ${l.proc} at ${l.at - t0!} ms`).join(', ')})`);
    const fromCatchUp = lines.filter((l) => l.rec.source === 'catch-up').length;
    const report = `chaos seed=${seed}${extraArgs.length ? ` ${extraArgs.join(' ')}` : ''}: changes made ${figures.changes}, changes that had to be reported ${obligations}, modifications not knowable ${unknowable} (streamed item changed before any ChangeKey was learnt), lines printed ${lines.length} (${fromCatchUp} catch-up), missed ${missed.length}, duplicated ${duplicated.length}, restarts ${figures.restarts} (kill -9), drops ${figures.drops}, subscriptions lost ${figures.expired}, throttled ${figures.throttled}`;
    console.log(report);
    assert.deepEqual(missed, [], `${report}\nmissed: ${missed.join('; ')}\nduplicated: ${duplicated.join('; ')}\nstderr: ${warnings.join('\n')}`);
    assert.deepEqual(duplicated, [], `${report}\nduplicated: ${duplicated.join('; ')}\nstderr: ${warnings.join('\n')}`);
    assert.ok(figures.kills >= 1 || OPS < 60, 'the run included at least one kill -9');
  });
}

describe('chaos: no change missed, none twice', () => {
  for (const seed of SEEDS) it(`seed ${seed} (replay with CHAOS_SEEDS=${seed})`, { timeout: 90_000 }, () => chaos(seed));
  // With --details every line waits for its GetItem: the catch-up must save its state only once lines are out.
  it(`seed ${SEEDS[0]} with --details`, { timeout: 90_000 }, () => chaos(SEEDS[0]!, ['--details']));
});
