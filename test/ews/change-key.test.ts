// Placeholder ChangeKeys (src/ews/change-key.ts): the shapes Exchange's notifications carry, and real ones kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPlaceholderChangeKey, usableChangeKey } from '../../src/ews/change-key.js';

test('placeholders: the 4-byte type prefix of every notification sample (message, calendar item, folders), and empty', () => {
  for (const ck of ['CQAAAA==', 'DwAAAA==', 'AQAAAA==', 'AgAAAA==', 'CwAAAA==', '']) {
    assert.equal(isPlaceholderChangeKey(ck), true, ck);
    assert.equal(usableChangeKey(ck), undefined, ck);
  }
});

test('real ChangeKeys (type prefix, then the change number) and anything not base64 are kept as sent', () => {
  // As SyncFolderItems and GetItem send them (protocol-notes.md §6.1), and opaque strings of other servers.
  for (const ck of ['CQAAABYAAADZGACZQpSgSpyNkexYe2b7AAAbvSbE', 'CQAAABYAAAA1', 'CQAAAAAA', 'ck', 'CQAAAA=', 'CQ AAAA=', 'CQAAAA==x']) {
    assert.equal(isPlaceholderChangeKey(ck), false, ck);
    assert.equal(usableChangeKey(ck), ck, ck);
  }
  assert.equal(usableChangeKey(undefined), undefined);
});
