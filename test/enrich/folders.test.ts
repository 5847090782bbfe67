// Folder names: distinguished folders resolved once with GetFolder and matched by exact id; display names with
// --all-folders, one GetFolder per folder however many events wait for it, read again only when a folder Modified
// its unread count does not explain (a rename), at most every REREAD_MS; failures leave events unnamed instead of failing.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createFolderNames, REREAD_MS, type FolderNames } from '../../src/enrich/folders.js';
import { createFakeClock } from '../support/fake-clock.js';
import { fakeClient, folderEvent, itemEvent } from './helpers.js';

describe('folder names', () => {
  it('names an event whose parent id matches a watched distinguished folder, after trimming; nothing else', async () => {
    const client = fakeClient();
    client.folders.set(' INBOXID\n', { distinguished: 'inbox', displayName: 'Posteingang' });
    client.folders.set('SENTID', { distinguished: 'sentitems' });
    const names = createFolderNames({ client, clock: createFakeClock(), distinguished: ['inbox', 'sentitems'], displayNames: false, debug: () => undefined });
    await names.resolve();
    assert.equal(names.folderOf(itemEvent('NewMail', 'a', {}, 'INBOXID').event), 'inbox');
    assert.equal(names.folderOf(itemEvent('NewMail', 'a', {}, 'SENTID ').event), 'sentitems');
    // Same folder, other spelling of its id: not guessed at.
    assert.equal(names.folderOf(itemEvent('NewMail', 'a', {}, 'inboxid').event), undefined);
    assert.equal(names.folderOf(itemEvent('NewMail', 'a', {}, 'OTHER').event), undefined);
    assert.equal(names.needsLookup('OTHER'), false, 'display names are for --all-folders only');
    await names.resolve();
    assert.equal(client.folderCalls.length, 1, 'resolved once');
    assert.deepEqual(client.folderCalls[0], [{ kind: 'distinguished', name: 'inbox' }, { kind: 'distinguished', name: 'sentitems' }]);
  });

  it('a failed GetFolder leaves events unnamed, and the next call tries again', async () => {
    const client = fakeClient();
    client.folders.set('INBOXID', { distinguished: 'inbox' });
    const failing = { ...client, getFolders: async () => Promise.reject(new Error('HTTP 503')) };
    const lines: string[] = [];
    let names = createFolderNames({ client: failing, clock: createFakeClock(), distinguished: ['inbox'], displayNames: false, debug: (l) => lines.push(l) });
    await names.resolve();
    assert.equal(names.folderOf(itemEvent('NewMail', 'a', {}, 'INBOXID').event), undefined);
    assert.match(lines.join('\n'), /GetFolder failed \(HTTP 503\)/);
    let calls = 0;
    names = createFolderNames({
      client: { getFolders: async (refs) => (calls += 1) === 1 ? Promise.reject(new Error('HTTP 503')) : client.getFolders(refs) },
      clock: createFakeClock(),
      distinguished: ['inbox'],
      displayNames: false,
      debug: () => undefined,
    });
    await names.resolve();
    await names.resolve();
    assert.equal(names.folderOf(itemEvent('NewMail', 'a', {}, 'INBOXID').event), 'inbox');
  });

  it('display names are cached within a bound; a folder that is gone is remembered as unnamed', async () => {
    const clock = createFakeClock();
    const client = fakeClient();
    for (const id of ['F1', 'F2', 'F3']) client.folders.set(id, { displayName: `Name ${id}` });
    const names = createFolderNames({ client, clock, distinguished: [], displayNames: true, maxCached: 2, debug: () => undefined });
    for (const id of ['F1', 'F2', 'F3']) assert.equal(await clock.runUntil(names.lookup(id)), `Name ${id}`);
    assert.equal(names.nameOf('F1'), undefined, 'the oldest was evicted');
    assert.equal(names.nameOf('F3'), 'Name F3');
    assert.equal(await clock.runUntil(names.lookup('GONE')), undefined);
    assert.equal(names.needsLookup('GONE'), false);
  });

  describe('a display name and the folder\'s Modified events', () => {
    /** An --all-folders namer over a fake mailbox whose folder PROJ is called `name` and has `unread` unread mails. */
    function setup(name = 'Projekte', unread = 0) {
      const clock = createFakeClock();
      const client = fakeClient();
      client.folders.set('PROJ', { displayName: name, unreadCount: unread });
      const names = createFolderNames({ client, clock, distinguished: [], displayNames: true, debug: () => undefined });
      const modified = (n: FolderNames, unreadCount: number | undefined): void => {
        const e = folderEvent('PROJ', 'ROOT').event;
        n.observe(unreadCount === undefined ? { ...e, unreadCount: undefined } : { ...e, unreadCount });
      };
      return { clock, client, names, modified };
    }

    it('events waiting for one unknown folder share one GetFolder, also while it is on its way', async () => {
      const { clock, client, names } = setup();
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      const slow = createFolderNames({ client: { getFolders: async (refs) => (await gate, client.getFolders(refs)) }, clock, distinguished: [], displayNames: true, debug: () => undefined });
      const first = slow.lookup('PROJ');
      await clock.advance(100);
      assert.equal(client.folderCalls.length, 0, 'asked, not answered');
      assert.equal(slow.needsLookup('PROJ'), true);
      const second = slow.lookup('PROJ');
      await clock.advance(300);
      open();
      assert.deepEqual(await Promise.all([first, second]), ['Projekte', 'Projekte']);
      assert.equal(client.folderCalls.length, 1);
      assert.equal(names.needsLookup('PROJ'), true, 'another namer knows nothing yet');
    });

    it('new mail: each Modified brings another unread count, the name is kept, no GetFolder', async () => {
      const { clock, client, names, modified } = setup('Projekte', 3);
      assert.equal(await clock.runUntil(names.lookup('PROJ')), 'Projekte');
      for (let n = 4; n <= 50; n += 1) {
        modified(names, n);
        assert.equal(names.needsLookup('PROJ'), false);
        assert.equal(names.nameOf('PROJ'), 'Projekte');
      }
      assert.equal(client.folderCalls.length, 1);
    });

    it('a Modified its count does not explain (a rename) has the next event read the name again, once', async () => {
      const { clock, client, names, modified } = setup('Projekte', 2);
      await clock.runUntil(names.lookup('PROJ'));
      client.folders.set('PROJ', { displayName: 'Projects', unreadCount: 2 });
      modified(names, 2);
      assert.equal(names.nameOf('PROJ'), undefined, 'not the old name while it may be wrong');
      assert.equal(names.needsLookup('PROJ'), true);
      const [a, b] = [names.lookup('PROJ'), names.lookup('PROJ')];
      assert.deepEqual(await clock.runUntil(Promise.all([a, b])), ['Projects', 'Projects']);
      assert.equal(client.folderCalls.length, 2);
      assert.equal(names.nameOf('PROJ'), 'Projects');
      // A Modified without an UnreadCount is no explanation either.
      await clock.advance(REREAD_MS);
      modified(names, undefined);
      assert.equal(names.needsLookup('PROJ'), true);
    });

    it('doubts in a row (read mail moved in keeps the count): read again at most every REREAD_MS, the known name serving between', async () => {
      const { clock, client, names, modified } = setup('Projekte', 5);
      await clock.runUntil(names.lookup('PROJ'));
      modified(names, 5);
      await clock.runUntil(names.lookup('PROJ'));
      assert.equal(client.folderCalls.length, 2, 'the first doubt is read at once');
      for (let i = 0; i < 9; i += 1) {
        modified(names, 5);
        assert.equal(names.nameOf('PROJ'), 'Projekte');
        assert.equal(names.needsLookup('PROJ'), false);
        await clock.advance(REREAD_MS / 10 - 1);
      }
      assert.equal(client.folderCalls.length, 2);
      await clock.advance(REREAD_MS / 10);
      assert.equal(names.needsLookup('PROJ'), true, 'REREAD_MS after the last read');
      await clock.runUntil(names.lookup('PROJ'));
      assert.equal(client.folderCalls.length, 3);
    });

    it('a Modified that comes while the folder is being looked up is taken as seen by that lookup; its count wins', async () => {
      const { clock, client, names, modified } = setup('Projekte', 1);
      const first = names.lookup('PROJ');
      modified(names, 1);
      assert.equal(await clock.runUntil(first), 'Projekte');
      assert.equal(names.needsLookup('PROJ'), false);
      modified(names, 2);
      assert.equal(names.needsLookup('PROJ'), false);
      assert.equal(client.folderCalls.length, 1);
    });

    it('a deleted folder is forgotten; with display names off, Modified events change nothing', async () => {
      const { clock, names } = setup();
      await clock.runUntil(names.lookup('PROJ'));
      names.observe({ ...folderEvent('PROJ').event, type: 'Deleted', unreadCount: undefined });
      assert.equal(names.needsLookup('PROJ'), true);
      const plain = createFolderNames({ client: fakeClient(), clock, distinguished: [], displayNames: false, debug: () => undefined });
      plain.observe(folderEvent('PROJ').event);
      assert.equal(plain.needsLookup('PROJ'), false);
    });
  });
});
