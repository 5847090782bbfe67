// Folder names: distinguished folders resolved once with GetFolder and matched by exact id; display names with
// --all-folders; failures leave events unnamed instead of failing.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createFolderNames } from '../../src/enrich/folders.js';
import { createFakeClock } from '../support/fake-clock.js';
import { fakeClient, itemEvent } from './helpers.js';

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
});
