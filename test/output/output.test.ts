import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Chalk } from 'chalk';
import { buildNdjsonRecord, createNdjsonSink } from '../../src/output/ndjson.js';
import { createPrettySink } from '../../src/output/pretty.js';
import { shortenId, stripControl } from '../../src/output/sanitize.js';
import type { WatchedEvent } from '../../src/output/types.js';
import { decideColourLevel } from '../../src/term/colour.js';

const newMail: WatchedEvent = {
  mailbox: 'alice@contoso.com',
  source: 'stream',
  event: {
    type: 'NewMail',
    subscriptionId: 'JgBi',
    timestamp: '2013-09-16T04:31:29Z',
    kind: 'item',
    target: { id: 'AAMk1', changeKey: 'CQAAAA==' },
    parentFolderId: { id: 'AQMk2', changeKey: 'AQAAAA==' },
  },
};

describe('NDJSON', () => {
  it('prints the contract example exactly, keys in the contract order', () => {
    const lines: string[] = [];
    createNdjsonSink((l) => lines.push(l)).write({ ...newMail, folder: 'inbox' });
    assert.deepEqual(lines, [
      '{"event":"NewMail","timestamp":"2013-09-16T04:31:29Z","mailbox":"alice@contoso.com","subscriptionId":"JgBi","itemId":"AAMk1","changeKey":"CQAAAA==","parentFolderId":"AQMk2","folder":"inbox","source":"stream"}\n',
    ]);
  });
  it('folder events use folderId and carry unreadCount; keys that do not apply are absent, never null', () => {
    const rec = buildNdjsonRecord({
      mailbox: 'a@b.c',
      source: 'catch-up',
      event: { type: 'Modified', subscriptionId: 's', timestamp: 't', kind: 'folder', target: { id: 'F' }, unreadCount: 0 },
    });
    assert.deepEqual(rec, { event: 'Modified', timestamp: 't', mailbox: 'a@b.c', subscriptionId: 's', folderId: 'F', unreadCount: 0, source: 'catch-up' });
  });
  it('moved items carry oldItemId and oldParentFolderId', () => {
    const rec = buildNdjsonRecord({
      mailbox: 'a@b.c',
      source: 'stream',
      event: { type: 'Moved', subscriptionId: 's', timestamp: 't', kind: 'item', target: { id: 'N' }, parentFolderId: { id: 'P2' }, oldTarget: { id: 'O' }, oldParentFolderId: { id: 'P1' } },
    });
    assert.equal(rec.oldItemId, 'O');
    assert.equal(rec.oldParentFolderId, 'P1');
    assert.equal('oldFolderId' in rec, false);
  });
  it('escapes control characters from the server', () => {
    const lines: string[] = [];
    createNdjsonSink((l) => lines.push(l)).write({ ...newMail, event: { ...newMail.event, target: { id: 'A\u001b[31mB\nC' } } });
    assert.equal(lines.length, 1);
    assert.equal(lines[0].split('\n').length, 2, 'one line, ending in a newline');
    assert.equal(JSON.parse(lines[0]).itemId, 'A\u001b[31mB\nC');
  });
});

describe('pretty', () => {
  const fixed = (): string => '2013-09-16 06:31:29';
  it('tab-separated columns without colour off a TTY', () => {
    const lines: string[] = [];
    createPrettySink((l) => lines.push(l), { chalk: new Chalk({ level: 0 }), tty: false, formatTime: fixed }).write(newMail);
    assert.deepEqual(lines, ['2013-09-16 06:31:29\tNewMail\titem AAMk1\tin AQMk2\n']);
  });
  it('names the folder when known and colours the event name on a TTY', () => {
    const lines: string[] = [];
    createPrettySink((l) => lines.push(l), { chalk: new Chalk({ level: 1 }), tty: true, formatTime: fixed }).write({ ...newMail, folder: 'inbox' });
    assert.match(lines[0], /\u001b\[32mNewMail {8}\u001b\[39m {2}item in inbox\n$/);
  });
  it('strips escape sequences and bidi overrides that came from the server', () => {
    const lines: string[] = [];
    createPrettySink((l) => lines.push(l), { chalk: new Chalk({ level: 0 }), tty: false, formatTime: fixed }).write({
      ...newMail,
      folder: 'in\u001b]0;pwned\u0007box\u202e',
    });
    assert.equal(lines[0], '2013-09-16 06:31:29\tNewMail\titem in in]0;pwnedbox\t\n');
  });
});

describe('sanitize', () => {
  it('removes C0, DEL, C1 and bidi controls and keeps other text', () => {
    assert.equal(stripControl('Grüße\u0000\u0007\u001b[2J\u007f\u009b日本\u202e🎉\u2066'), 'Grüße[2J日本🎉');
  });
  it('shortens long ids to their tail', () => {
    assert.equal(shortenId('short'), 'short');
    assert.equal(shortenId('0123456789abcdefghij'), '…56789abcdefghij');
  });
});

describe('colour decision', () => {
  const cases: [string, Parameters<typeof decideColourLevel>, number][] = [
    ['never wins over FORCE_COLOR', ['never', true, { FORCE_COLOR: '3' }], 0],
    ['auto on a TTY', ['auto', true, { TERM: 'xterm' }], 1],
    ['auto on a 256-colour TTY', ['auto', true, { TERM: 'xterm-256color' }], 2],
    ['auto off a TTY', ['auto', false, { TERM: 'xterm' }], 0],
    ['NO_COLOR on a TTY', ['auto', true, { NO_COLOR: '1', TERM: 'xterm' }], 0],
    ['empty NO_COLOR is ignored', ['auto', true, { NO_COLOR: '', TERM: 'xterm' }], 1],
    ['FORCE_COLOR off a TTY', ['auto', false, { FORCE_COLOR: '2' }], 2],
    ['FORCE_COLOR=0 on a TTY', ['auto', true, { FORCE_COLOR: '0' }], 0],
    ['always beats NO_COLOR', ['always', false, { NO_COLOR: '1' }], 1],
    ['dumb terminal', ['auto', true, { TERM: 'dumb' }], 0],
  ];
  for (const [name, args, level] of cases) it(name, () => assert.equal(decideColourLevel(...args), level));
});
