// runLiveCheck with a fake MailboxWriter, a fake stream and a fake clock: what it asks, what it writes and in which
// order, that it removes exactly what it made (after success, a failing call, an interrupt in the middle of a call,
// a stuck server), and what it reports from the stream it saw. No network, no wall clock.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EwsResponseError } from '../../src/errors.js';
import type { EwsId, FolderRef } from '../../src/ews/types.js';
import type { DeleteMode, DraftInput, MailboxWriter } from '../../src/ews/writes.js';
import { GRACE_MS, runLiveCheck, scratchName, SCRATCH_PATTERN, type LiveCheckOptions } from '../../src/cli/check-live.js';
import { CLEANUP_MS, leftNote } from '../../src/cli/check-live-scratch.js';
import { buildClosedEnvelope, buildHeartbeatEnvelope, buildNotificationEnvelope } from '../../src/simulator/stream-envelopes.js';
import type { WatchClient } from '../../src/ews/client.js';
import { createFakeClock, type FakeClock } from '../support/fake-clock.js';

const SUB = 'c3Vic2NyaXB0aW9uLWlk';
const FOLDER = 'Zm9sZGVyLWlkLTAwMDE=';
const DRAFT = 'ZHJhZnQtaWQtMDAwMQ==';

/** A response body the test feeds, piece by piece. */
function createBody(): { body: AsyncIterable<Uint8Array>; push(text: string): void; end(): void } {
  const queue: Array<Uint8Array | null> = [];
  let wake: (() => void) | undefined;
  const body: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => ({
      async next() {
        while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        const value = queue.shift()!;
        return value === null ? { done: true, value: undefined } : { done: false, value };
      },
      async return() {
        return { done: true, value: undefined };
      },
    }),
  };
  const put = (v: Uint8Array | null): void => {
    queue.push(v);
    wake?.();
  };
  return { body, push: (text) => put(Buffer.from(text, 'utf8')), end: () => put(null) };
}

const created = (id: string): string =>
  buildNotificationEnvelope([{ subscriptionId: SUB, events: [{ type: 'CreatedEvent', timestamp: '2024-01-01T00:00:00Z', kind: 'item', id: { id, changeKey: 'AAAA' }, parent: { id: FOLDER, changeKey: 'BBBB' } }] }]);

type Call = [string, ...unknown[]];

interface Fakes {
  calls: Call[];
  out: string[];
  notes: Array<string | undefined>;
  body: ReturnType<typeof createBody>;
  clock: FakeClock;
  stop: AbortController;
  options: LiveCheckOptions;
  /** Resolves the next call of this name (its fake answer waits until then when `hold` named it). */
  release(name: string, value?: unknown): void;
  waitFor(name: string): Promise<void>;
}

/** Every call recorded; the ones named in `hold` wait for release(); `fail` makes one reject. */
function fakes(o: { hold?: string[]; fail?: Record<string, unknown>; leftovers?: Array<{ id: string; displayName: string }>; consent?: boolean; stuck?: string[] } = {}): Fakes {
  const calls: Call[] = [];
  const out: string[] = [];
  const notes: Array<string | undefined> = [];
  const clock = createFakeClock();
  const stop = new AbortController();
  const body = createBody();
  const held = new Map<string, (v: unknown) => void>();
  const waiters = new Map<string, () => void>();
  const answer = <T>(name: string, value: T, signal?: AbortSignal, ...args: unknown[]): Promise<T> => {
    calls.push([name, ...args]);
    waiters.get(name)?.();
    if (o.fail?.[name]) return Promise.reject(o.fail[name]);
    if (o.stuck?.includes(name)) {
      // A server that never answers: only the caller's signal ends the wait.
      return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new Error(`${name} aborted`)), { once: true }));
    }
    if (o.hold?.includes(name)) return new Promise((resolve) => held.set(name, resolve as (v: unknown) => void)).then(() => value);
    return Promise.resolve(value);
  };
  const writer: MailboxWriter = {
    findFolders: (parent: FolderRef, signal) => answer('findFolders', o.leftovers ?? [{ id: 'cHJvamVjdHMtZm9sZGVy', displayName: 'Projects' }], signal, parent),
    createFolder: (parent: FolderRef, name: string, signal) => answer<EwsId>('createFolder', { id: FOLDER, changeKey: 'x' }, signal, parent, name),
    createDraft: (folderId: string, draft: DraftInput, signal) => answer<EwsId>('createDraft', { id: DRAFT }, signal, folderId, draft.subject),
    deleteItem: (id: string, mode: DeleteMode, signal) => answer('deleteItem', 'deleted' as const, signal, id, mode),
    deleteFolder: (id: string, mode: DeleteMode, signal) => answer('deleteFolder', 'deleted' as const, signal, id, mode),
    updateItem: () => Promise.reject(new Error('not used')),
    moveItem: () => Promise.reject(new Error('not used')),
    copyItem: () => Promise.reject(new Error('not used')),
  };
  const client: WatchClient = {
    subscribe: (signal) => answer('subscribe', SUB, signal),
    unsubscribe: (id, signal) => answer('unsubscribe', 'unsubscribed' as const, signal, id),
    openStream: (id, minutes, signal) => answer('openStream', body.body, signal, id, minutes),
  };
  const options: LiveCheckOptions = {
    writer,
    streamClientFor: (folderId) => (calls.push(['streamClientFor', folderId]), client),
    affinityCookieSet: () => true,
    mailbox: 'alice@contoso.com',
    minutes: 2,
    clock,
    random: () => 0.5,
    write: (line) => void out.push(line.replace(/\n$/, '')),
    configuration: [{ name: 'url', value: 'https://mail.contoso.com/EWS/Exchange.asmx' }],
    scheme: () => 'basic',
    serverVersion: () => undefined,
    progress: () => undefined,
    consent: async (plan) => (calls.push(['consent', plan.length]), o.consent ?? true),
    signal: stop.signal,
    onLeft: (note) => void notes.push(note),
  };
  return {
    calls,
    out,
    notes,
    body,
    clock,
    stop,
    options,
    release: (name, value) => held.get(name)?.(value),
    waitFor: (name) => (calls.some((c) => c[0] === name) ? Promise.resolve() : new Promise((resolve) => waiters.set(name, resolve))),
  };
}

const names = (f: Fakes): string[] => f.calls.map((c) => c[0]);

describe('check --live, with fakes', () => {
  test('the scratch folder is named by the minute and a random tag; only such names count as leftovers', () => {
    const name = scratchName(new Date(2026, 11, 2, 3, 10).getTime(), () => 0xa1b2 / 0x10000);
    assert.equal(name, 'ews-watch check 2026-12-02 03:10 #a1b2');
    assert.equal(SCRATCH_PATTERN.test(name), true);
    for (const other of ['ews-watch check', 'ews-watch check 2026-12-02 03:10 #a1b2 (mine)', 'Ews-watch check 2026-12-02 03:10 #a1b2', 'Projects']) {
      assert.equal(SCRATCH_PATTERN.test(other), false, other);
    }
  });

  test('a run from start to end: the calls in order, the latency from the fake clock, everything removed', async () => {
    const f = fakes();
    const run = runLiveCheck(f.options);
    await f.waitFor('openStream');
    await f.clock.flush();
    f.body.push(buildHeartbeatEnvelope());
    await f.waitFor('createDraft');
    await f.clock.advance(12);
    f.body.push(created(DRAFT));
    await f.clock.advance(60_000);
    f.body.push(buildHeartbeatEnvelope());
    await f.clock.advance(60_000);
    f.body.push(buildClosedEnvelope());
    assert.equal(await run, 0);
    assert.deepEqual(names(f), ['findFolders', 'consent', 'createFolder', 'streamClientFor', 'subscribe', 'openStream', 'createDraft', 'unsubscribe', 'deleteItem', 'deleteFolder']);
    assert.deepEqual(f.calls.find((c) => c[0] === 'createFolder'), ['createFolder', { kind: 'distinguished', name: 'msgfolderroot' }, 'ews-watch check 2024-01-01 ' + new Date(Date.UTC(2024, 0, 1)).toTimeString().slice(0, 5) + ' #8000']);
    assert.deepEqual(f.calls.find((c) => c[0] === 'openStream'), ['openStream', SUB, 2]);
    assert.deepEqual(f.calls.slice(-2), [['deleteItem', DRAFT, 'HardDelete'], ['deleteFolder', FOLDER, 'HardDelete']]);
    const text = f.out.join('\n');
    assert.match(text, /\nok {4}signed in with basic\nplan {2}creates the folder "ews-watch check [^"]+" under the top of alice@contoso\.com's mailbox, saves one draft in it, and deletes both afterwards\n/);
    assert.match(text, /\nok {4}events arrive in 12 ms \(from saving the draft to its Created event\)\n/);
    assert.match(text, /\nok {4}the connection stayed open 2 min, until the server closed it at its ConnectionTimeout of 2 min; silences of up to 60 s did no harm\n/);
    assert.match(text, /\nnote {2}heartbeats every 60 s \(2 in 2 min\)/);
    assert.match(text, /\nremoved the draft and the folder "ews-watch check [^"]+"; unsubscribed\n/);
    assert.match(text, /\nall checks passed: events reach ews-watch through everything between it and Exchange$/);
    assert.equal(f.notes.at(-1), undefined, 'nothing left to warn about');
    assert.ok(f.notes.some((n) => n?.includes('may be left in alice@contoso.com')), 'while the folder existed, a forced exit would have said so');
  });

  test('a DOMAIN\\user sign-in: the mailbox found first, in the table and in the plan', async () => {
    const f = fakes({ consent: false });
    const options: LiveCheckOptions = { ...f.options, mailbox: undefined, findMailbox: async () => ({ name: 'url', value: 'bob@contoso.com', source: 'found with ConvertId' }) };
    assert.equal(await runLiveCheck(options), 1);
    assert.deepEqual(f.out.slice(0, 2), ['configuration', '  url       bob@contoso.com  (found with ConvertId)']);
    assert.match(f.out.find((l) => l.startsWith('plan')) ?? '', /under the top of bob@contoso\.com's mailbox/);
  });

  test('not confirmed: nothing is written, and it says so', async () => {
    const f = fakes({ consent: false });
    assert.equal(await runLiveCheck(f.options), 1);
    assert.deepEqual(names(f), ['findFolders', 'consent']);
    assert.equal(f.out.at(-1), 'stopped: nothing was written to the mailbox (not confirmed)');
  });

  test('folders left by an earlier check are named in the plan and deleted first; nothing else is touched', async () => {
    const leftover = { id: 'bGVmdG92ZXI=', displayName: 'ews-watch check 2026-11-30 22:05 #0f3c' };
    const mine = { id: 'bXktZm9sZGVy', displayName: 'ews-watch check 2026-11-30 22:05 #0f3c (keep)' };
    const f = fakes({ leftovers: [mine, leftover, { id: 'cHJvamVjdHM=', displayName: 'Projects' }] });
    const run = runLiveCheck(f.options);
    await f.waitFor('openStream');
    await f.clock.flush();
    f.body.push(created(DRAFT));
    f.body.push(buildClosedEnvelope());
    await run;
    assert.match(f.out.join('\n'), /\nplan {2}first deletes the folder "ews-watch check 2026-11-30 22:05 #0f3c", left by an earlier check that was stopped before it could\n/);
    assert.deepEqual(f.calls.filter((c) => c[0] === 'deleteFolder'), [['deleteFolder', leftover.id, 'HardDelete'], ['deleteFolder', FOLDER, 'HardDelete']]);
    assert.match(f.out.join('\n'), /\nok {4}deleted the folder "ews-watch check 2026-11-30 22:05 #0f3c" left by an earlier check\n/);
  });

  test('a draft that cannot be saved: one FAIL line with what to try, and the folder and subscription are still removed', async () => {
    const f = fakes({ fail: { createDraft: new EwsResponseError('ErrorAccessDenied', 'CreateItem: ErrorAccessDenied: Access is denied.') } });
    const run = runLiveCheck(f.options);
    await f.waitFor('openStream');
    assert.equal(await run, 1);
    const text = f.out.join('\n');
    assert.match(text, /\nFAIL {2}saving a draft in the scratch folder: ErrorAccessDenied: Access is denied\.\n {6}try: /);
    assert.deepEqual(names(f).slice(-2), ['unsubscribe', 'deleteFolder']);
    assert.match(text, /\nremoved the folder "[^"]+"; unsubscribed\n/);
    assert.match(text, /\nthe live check found a problem: see the FAIL line\(s\) above$/);
  });

  test('interrupted while CreateFolder is under way: it waits for the answer and deletes the folder the server made', async () => {
    const f = fakes({ hold: ['createFolder'] });
    const run = runLiveCheck(f.options);
    await f.waitFor('createFolder');
    f.stop.abort('SIGINT');
    await f.clock.flush();
    assert.equal(names(f).includes('deleteFolder'), false, 'nothing to delete before the answer came');
    assert.match(f.notes.at(-1) ?? '', /^ews-watch: stopped before cleaning up: the folder "ews-watch check [^"]+" may be left in alice@contoso\.com's mailbox; `ews-watch check --live` offers to delete it next time, or delete it in Outlook\n$/);
    f.release('createFolder');
    assert.equal(await run, 130);
    assert.deepEqual(names(f).slice(-2), ['createFolder', 'deleteFolder']);
    assert.deepEqual(f.out.slice(-2), ['stopped (SIGINT) before the check was done', `removed the folder "${scratchName(f.clock.now(), () => 0.5)}"`]);
    assert.equal(names(f).includes('subscribe'), false, 'nothing more is started after the interrupt');
  });

  test('interrupted while the stream is open: the stream ends, the draft and the folder go, exit 130', async () => {
    const f = fakes();
    const run = runLiveCheck(f.options);
    await f.waitFor('createDraft');
    await f.clock.flush();
    f.stop.abort('SIGTERM');
    assert.equal(await run, 130);
    assert.deepEqual(names(f).slice(-3), ['unsubscribe', 'deleteItem', 'deleteFolder']);
    assert.deepEqual(f.out.slice(-2), ['stopped (SIGTERM) before the check was done', `removed the draft and the folder "${scratchName(f.clock.now(), () => 0.5)}"; unsubscribed`]);
  });

  test('interrupted before anything was written: nothing to remove, and it says so', async () => {
    const f = fakes({ hold: ['findFolders'] });
    const run = runLiveCheck(f.options);
    await f.waitFor('findFolders');
    f.stop.abort('SIGINT');
    assert.equal(await run, 130);
    assert.deepEqual(names(f), ['findFolders']);
    assert.equal(f.out.at(-1), 'stopped (SIGINT) before writing anything: nothing was written to the mailbox');
  });

  test('a server that never answers the clean-up: given up after CLEANUP_MS, with a FAIL line saying what may be left', async () => {
    const f = fakes({ stuck: ['deleteFolder'] });
    const run = runLiveCheck(f.options);
    await f.waitFor('openStream');
    await f.clock.flush();
    f.body.push(created(DRAFT));
    f.body.push(buildClosedEnvelope());
    await f.waitFor('deleteFolder');
    await f.clock.advance(CLEANUP_MS);
    assert.equal(await run, 1);
    const text = f.out.join('\n');
    assert.match(text, /\nFAIL {2}removing the folder "[^"]+" \(delete it in Outlook, or run `ews-watch check --live` again, which offers to\): deleteFolder aborted\n/);
    assert.match(text, /\n {6}unsubscribed\n/);
    assert.match(text, /\nthe check passed, but it could not remove all it made \(above\)$/);
    assert.ok(f.clock.timerDelays.includes(CLEANUP_MS));
    assert.match(leftNote({ name: 'n', mailbox: 'm', folder: FOLDER, pending: new Set() }) ?? '', /the folder "n" may be left in m's mailbox/);
  });

  test('a stream that neither closes nor breaks is given up at ConnectionTimeout + 60 s', async () => {
    const f = fakes();
    const run = runLiveCheck(f.options);
    await f.waitFor('openStream');
    await f.clock.flush();
    f.body.push(buildHeartbeatEnvelope());
    await f.clock.advance(2 * 60_000 + GRACE_MS);
    assert.equal(await run, 1);
    assert.match(f.out.join('\n'), /\nFAIL {2}the draft's event never came, and the connection neither closed nor broke within ConnectionTimeout \+ 60 s \(3 min\)/);
  });
});
