// Demo mode: generated credentials, mail that arrives by itself with varied (non-ASCII too) subjects, and the
// occasional read/move/delete — checked with a seeded random for the pure part and a short interval live.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator } from '../../src/simulator/index.js';
import { DEMO_SEED_MAILS, DEMO_SEED_READ, demoTick, pickDemoMail } from '../../src/simulator/demo.js';
import type { MailInput, SimItem } from '../../src/simulator/types.js';
import { gseBody, rawPost, splitEnvelopes, subscribe } from './helpers.js';

/** A small deterministic generator (LCG) so the pure tests are repeatable. */
function seeded(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

test('demo subjects and senders vary and include accents, CJK and emoji', () => {
  const random = seeded(7);
  const mails = Array.from({ length: 200 }, () => pickDemoMail(random));
  const subjects = new Set(mails.map((m) => m.subject));
  assert.ok(subjects.size >= 10, `only ${subjects.size} distinct subjects`);
  assert.ok([...subjects].some((s) => /[éèüöß]/.test(s)), 'accents');
  assert.ok([...subjects].some((s) => /[\u3040-\u30ff\u4e00-\u9fff]/.test(s)), 'CJK');
  assert.ok([...subjects].some((s) => /\p{Extended_Pictographic}/u.test(s)), 'emoji');
  assert.ok(new Set(mails.map((m) => m.from.address)).size >= 5);
  assert.ok(mails.every((m) => /^[^@\s]+@[^@\s]+\.[a-z]+$/.test(m.from.address)));
});

test('a demo tick delivers one mail and sometimes acts on an older inbox item', () => {
  const calls: string[] = [];
  const inbox: SimItem[] = [{ id: 'old', isRead: false } as SimItem];
  const deps = {
    intervalMs: 1,
    deliverMail: (m: MailInput) => (calls.push(`mail:${m.subject}`), { events: [] }),
    markRead: (id: string) => (calls.push(`read:${id}`), { events: [] }),
    moveItem: (id: string, folder: string) => (calls.push(`move:${id}:${folder}`), { events: [] }),
    deleteItem: (id: string) => (calls.push(`delete:${id}`), { events: [] }),
    inbox: () => inbox,
    log: () => undefined,
  };
  // random(): subject pick, sender pick, action roll, target pick
  demoTick({ ...deps, random: (() => { const r = [0, 0, 0.1, 0]; return () => r.shift()!; })() });
  demoTick({ ...deps, random: (() => { const r = [0, 0, 0.35, 0]; return () => r.shift()!; })() });
  demoTick({ ...deps, random: (() => { const r = [0, 0, 0.45, 0]; return () => r.shift()!; })() });
  demoTick({ ...deps, random: (() => { const r = [0, 0, 0.9, 0]; return () => r.shift()!; })() });
  const subject = pickDemoMail(() => 0).subject;
  assert.deepEqual(calls, [
    `mail:${subject}`, 'read:old',
    `mail:${subject}`, 'move:old:Archive',
    `mail:${subject}`, 'delete:old',
    `mail:${subject}`,
  ]);
});

test('demo mode: generated credentials, an inbox with a few mails at start, and mail keeps arriving on an open stream', async () => {
  const started = Date.now();
  const sim = await startSimulator({ demo: { intervalMs: 60 }, heartbeatMs: 10_000 });
  const other = await startSimulator();
  try {
    const atStart = sim.items('inbox');
    assert.equal(atStart.length, DEMO_SEED_MAILS);
    assert.equal(atStart.filter((i) => i.isRead).length, DEMO_SEED_READ);
    assert.equal(other.items('inbox').length, 0, 'only the demo is seeded');
    assert.equal(sim.credentials.user, sim.mailboxAddress);
    assert.ok(sim.credentials.password.length >= 16);
    assert.notEqual(sim.credentials.password, other.credentials.password);
    const { id, cookie } = await subscribe(sim, ['inbox']);
    const stream = rawPost(sim, gseBody([id], 30), { Cookie: cookie });
    await stream.until((t) => splitEnvelopes(t).filter((e) => e.includes('<t:NewMailEvent>')).length >= 3, 10_000);
    stream.destroy();
    assert.ok(sim.items().length >= DEMO_SEED_MAILS + 3);
    // The seeded mails are there at once; the first new one comes after about a second.
    const creates = sim.changes().filter((c) => c.kind === 'create');
    assert.ok(creates.slice(0, DEMO_SEED_MAILS).every((c) => c.at - started < 900), 'the seeded mails are there at start');
    assert.ok(creates[DEMO_SEED_MAILS]!.at - started >= 900, 'the first demo mail comes after about a second');
  } finally {
    await Promise.all([sim.close(), other.close()]);
  }
});
