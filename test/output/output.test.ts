import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Chalk } from 'chalk';
import { buildNdjsonRecord, createNdjsonSink, escapeForTerminal, ndjsonLine } from '../../src/output/ndjson.js';
import { createPrettySink } from '../../src/output/pretty.js';
import { cleanLines, cleanText, shortenId, stripControl } from '../../src/base/sanitize.js';
import { seededRandom } from '../support/random.js';
import { fitWidth, padWidth, textWidth } from '../../src/base/width.js';
import type { WatchedEvent } from '../../src/base/event.js';
import { decideColourLevel } from '../../src/term/colour.js';

const newMail: WatchedEvent = {
  mailbox: 'alice@contoso.com',
  source: 'stream',
  event: {
    type: 'NewMail',
    subscriptionId: 'JgBi',
    timestamp: '2013-09-16T04:31:29Z',
    kind: 'item',
    // As decoded: the notification's placeholder ChangeKeys (CQAAAA==, AQAAAA==) are left out.
    target: { id: 'AAMk1' },
    parentFolderId: { id: 'AQMk2' },
  },
};

describe('NDJSON', () => {
  it('prints the contract example exactly, keys in the contract order', () => {
    const lines: string[] = [];
    createNdjsonSink((l) => lines.push(l)).write({ ...newMail, folder: 'inbox' });
    assert.deepEqual(lines, [
      '{"event":"NewMail","timestamp":"2013-09-16T04:31:29Z","mailbox":"alice@contoso.com","subscriptionId":"JgBi","itemId":"AAMk1","parentFolderId":"AQMk2","folder":"inbox","source":"stream"}\n',
    ]);
  });
  it('a real ChangeKey goes after the id: the event\'s own (a catch-up\'s), else the one GetItem read (--details)', () => {
    const ck = (e: WatchedEvent): unknown => buildNdjsonRecord(e).changeKey;
    const fetched = { ...newMail, details: { changeKey: 'CQAAABYAAAAG' } };
    assert.equal(ck(fetched), 'CQAAABYAAAAG');
    assert.equal(ck({ ...fetched, event: { ...newMail.event, target: { id: 'AAMk1', changeKey: 'CQAAABYAAAAS' } } }), 'CQAAABYAAAAS');
    assert.equal(ck(newMail), undefined);
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
    assert.equal('oldFolder' in rec, false);
  });
  it('oldFolder follows folder; a folder event\'s folder is the folder itself, not its parent', () => {
    const moved = buildNdjsonRecord({
      mailbox: 'a@b.c',
      source: 'stream',
      folder: 'Archive',
      oldFolder: 'inbox',
      event: { type: 'Moved', subscriptionId: 's', timestamp: 't', kind: 'item', target: { id: 'N' }, parentFolderId: { id: 'P2' }, oldTarget: { id: 'O' }, oldParentFolderId: { id: 'P1' } },
    });
    assert.deepEqual(Object.keys(moved).slice(-3), ['folder', 'oldFolder', 'source']);
    assert.deepEqual([moved.folder, moved.oldFolder], ['Archive', 'inbox']);
    const folderEvent = buildNdjsonRecord({
      mailbox: 'a@b.c',
      source: 'stream',
      folder: 'msgfolderroot',
      targetName: 'inbox',
      event: { type: 'Modified', subscriptionId: 's', timestamp: 't', kind: 'folder', target: { id: 'F' }, parentFolderId: { id: 'R' }, unreadCount: 1 },
    });
    assert.equal(folderEvent.folder, 'inbox');
  });
  it('escapes control characters from the server', () => {
    const lines: string[] = [];
    createNdjsonSink((l) => lines.push(l)).write({ ...newMail, event: { ...newMail.event, target: { id: 'A\u001b[31mB\nC' } } });
    assert.equal(lines.length, 1);
    assert.equal(lines[0].split('\n').length, 2, 'one line, ending in a newline');
    assert.equal(JSON.parse(lines[0]).itemId, 'A\u001b[31mB\nC');
  });
  it('C1 controls (8-bit CSI, OSC), DEL, bidi controls and U+2028/U+2029 are written as \\u escapes: nothing raw reaches a terminal', () => {
    const subject = 'x\u009b2J \u009d52;c;ZXZpbA==\u009c \u202eevil\u202c \u2066a\u2069 \u061c\u200e\u200f\u2028\u2029\u007f\u0085 ok';
    const line = ndjsonLine({ ...newMail, details: { subject } });
    assert.equal(
      line.slice(line.indexOf('"subject"')),
      '"subject":"x\\u009b2J \\u009d52;c;ZXZpbA==\\u009c \\u202eevil\\u202c \\u2066a\\u2069 \\u061c\\u200e\\u200f\\u2028\\u2029\\u007f\\u0085 ok","source":"stream"}',
    );
    assert.equal(JSON.parse(line).subject, subject);
  });
  it('property: for random server text the line has no raw control, C1 or bidi character, and parses back to the record', () => {
    // Plain letters, quotes and backslashes, every C0 and C1 control, DEL, the bidi controls, line separators,
    // emoji (surrogate pairs) and lone surrogates.
    const pool = ['a', 'Z', ' ', '"', '\\', '/', 'é', '€', '😀', '\ud800', '\udfff', '\u061c', '\u200e', '\u200f', '\u2028', '\u2029', '\u007f'];
    for (let c = 0; c < 0x20; c += 1) pool.push(String.fromCharCode(c));
    for (let c = 0x80; c < 0xa0; c += 1) pool.push(String.fromCharCode(c));
    for (let c = 0x202a; c <= 0x202e; c += 1) pool.push(String.fromCharCode(c));
    for (let c = 0x2066; c <= 0x2069; c += 1) pool.push(String.fromCharCode(c));
    // eslint-disable-next-line no-control-regex
    const raw = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const random = seededRandom(seed);
      const text = (): string => Array.from({ length: Math.floor(random() * 40) }, () => pool[Math.floor(random() * pool.length)]).join('');
      for (let i = 0; i < 250; i += 1) {
        const e: WatchedEvent = { ...newMail, folder: text(), oldFolder: text(), details: { subject: text(), from: { name: text(), address: text() } } };
        const line = ndjsonLine(e);
        assert.doesNotMatch(line, raw, `seed ${seed}, case ${i}`);
        assert.deepEqual(JSON.parse(line), buildNdjsonRecord(e), `seed ${seed}, case ${i}`);
      }
    }
  });
  it('the line is, character for character, JSON.stringify\'s of the record with escapeForTerminal over it', () => {
    // Values written verbatim (quoted only) and values that need escapes, mixed in one line; numbers and booleans.
    const plain = ['', 'inbox', 'AAMkAGI2TG93AAA=', 'Ünïcödé €', 'a/b', 'x'.repeat(300)];
    const tricky = ['"q"', 'back\\slash', 'tab\there', '\u0085', '\u202e', '\u2028', '😀', '\ud800', 'a\udfff', '\u007f', 'é\u001b[0m'];
    const random = seededRandom(11);
    const pick = (pool: string[]): string => pool[Math.floor(random() * pool.length)] as string;
    const value = (): string => (random() < 0.5 ? pick(plain) : pick(plain) + pick(tricky) + pick(plain));
    for (let i = 0; i < 500; i += 1) {
      const e: WatchedEvent = {
        ...newMail,
        event: { ...newMail.event, subscriptionId: value(), target: { id: value() } },
        folder: value(),
        isRead: random() < 0.5,
        details: { subject: value(), size: Math.floor(random() * 1e6), from: { name: value(), address: value() }, to: [{ name: value(), address: value() }] },
      };
      assert.equal(ndjsonLine(e), escapeForTerminal(JSON.stringify(buildNdjsonRecord(e))), `case ${i}`);
    }
  });
});

describe('pretty', () => {
  const fixed = (): string => '2013-09-16 06:31:29';
  it('many mailboxes: a mailbox column after the time, cleaned; whole off a TTY, fitted to 24 cells on one; none for one mailbox', () => {
    const lines: string[] = [];
    let many = false;
    const plain = createPrettySink((l) => lines.push(l), { tty: false, formatTime: fixed, mailboxes: () => many });
    plain.write(newMail);
    many = true;
    plain.write({ ...newMail, mailbox: 'a.very.long.mailbox.name@contoso.com' });
    createPrettySink((l) => lines.push(l), { tty: false, formatTime: fixed, details: true, mailboxes: () => true }).write({ ...newMail, mailbox: 'bob@x.com\u001b[2J' });
    const onTerminal = createPrettySink((l) => lines.push(l), { tty: true, formatTime: fixed, mailboxes: () => true });
    onTerminal.write({ ...newMail, mailbox: 'ann@contoso.com', folder: 'inbox' });
    onTerminal.write({ ...newMail, mailbox: 'a.very.long.mailbox.name@contoso.com', folder: 'inbox' });
    assert.deepEqual(lines, [
      '2013-09-16 06:31:29\tNewMail\titem AAMk1\tin AQMk2\n',
      '2013-09-16 06:31:29\ta.very.long.mailbox.name@contoso.com\tNewMail\titem AAMk1\tin AQMk2\n',
      '2013-09-16 06:31:29\tbob@x.com\tNewMail\tAAMk1\t\t\t\n',
      '2013-09-16 06:31:29  ann@contoso.com           NewMail          item in inbox\n',
      '2013-09-16 06:31:29  a.very.long.mailbox.nam…  NewMail          item in inbox\n',
    ]);
  });
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
  it('an item moved or copied reads "item <from> → <to>", by name where known, else a shortened id', () => {
    const lines: string[] = [];
    const sink = createPrettySink((l) => lines.push(l), { chalk: new Chalk({ level: 0 }), tty: false, formatTime: fixed });
    const moved: WatchedEvent = {
      mailbox: 'a@b.c',
      source: 'stream',
      event: { type: 'Moved', subscriptionId: 's', timestamp: 't', kind: 'item', target: { id: 'AAMkNEW' }, parentFolderId: { id: 'AQMkARCHIVE0123456789' }, oldTarget: { id: 'AAMkOLD' }, oldParentFolderId: { id: 'AQMkINBOX' } },
    };
    sink.write({ ...moved, oldFolder: 'inbox' });
    sink.write({ ...moved, oldFolder: 'inbox', folder: 'Archive' });
    sink.write({ ...moved, event: { ...moved.event, type: 'Copied' } });
    assert.deepEqual(lines, [
      `2013-09-16 06:31:29\tMoved\titem inbox → …${'AQMkARCHIVE0123456789'.slice(-15)}\t\n`,
      '2013-09-16 06:31:29\tMoved\titem inbox → Archive\t\n',
      `2013-09-16 06:31:29\tCopied\titem AQMkINBOX → …${'AQMkARCHIVE0123456789'.slice(-15)}\t\n`,
    ]);
  });
  it('strips escape sequences and bidi overrides that came from the server', () => {
    const lines: string[] = [];
    createPrettySink((l) => lines.push(l), { chalk: new Chalk({ level: 0 }), tty: false, formatTime: fixed }).write({
      ...newMail,
      folder: 'in\u001b]0;pwned\u0007box\u202e',
    });
    // The whole OSC sequence goes, not only its ESC: no "]0;pwned" is left behind.
    assert.equal(lines[0], '2013-09-16 06:31:29\tNewMail\titem in inbox\t\n');
  });
});

describe('sanitize', () => {
  it('cleanLines: escape sequences and controls go line by line; newlines and tabs stay; an unterminated OSC ends with its line', () => {
    assert.equal(cleanLines('plain text\n\tindented'), 'plain text\n\tindented');
    assert.equal(cleanLines('a\u001b[31mred\u001b[0m\u009b2J b\r c\u202eevil\u202c \u061cd'), 'ared b cevil d');
    assert.equal(cleanLines('copy \u001b]52;c;ZXZpbA==\u0007done \u009d52;c;eA==\u009cend'), 'copy done end');
    assert.equal(cleanLines('cut \u001b]52;c;never ends\nnext line stays'), 'cut \nnext line stays');
  });
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

const withDetails: WatchedEvent = {
  ...newMail,
  folder: 'inbox',
  details: {
    changeKey: 'CQAAABYAAAAG',
    subject: 'Grüße aus München',
    from: { name: 'Zoë Müller', address: 'zoe@contoso.de' },
    to: [{ name: 'Alice', address: 'alice@contoso.com' }],
    receivedAt: '2013-09-16T04:31:28Z',
    isRead: false,
    hasAttachments: true,
    importance: 'High',
    size: 51234,
    internetMessageId: '<abc@contoso.de>',
    itemClass: 'IPM.Note',
  },
};

describe('NDJSON with --details', () => {
  it('adds the summary after folder and before source, in a fixed order', () => {
    const line = createLine(withDetails);
    assert.deepEqual(Object.keys(JSON.parse(line)), [
      'event', 'timestamp', 'mailbox', 'subscriptionId', 'itemId', 'changeKey', 'parentFolderId', 'isRead', 'folder',
      'subject', 'from', 'to', 'receivedAt', 'hasAttachments', 'importance', 'size', 'internetMessageId', 'itemClass', 'source',
    ]);
    assert.deepEqual(JSON.parse(line).from, { name: 'Zoë Müller', address: 'zoe@contoso.de' });
    assert.equal(JSON.parse(line).size, 51234);
  });
  it('an item without details carries detailsError; a catch-up read state wins over the fetched one', () => {
    const rec = JSON.parse(createLine({ ...newMail, detailsError: 'ErrorItemNotFound' }));
    assert.equal(rec.detailsError, 'ErrorItemNotFound');
    assert.equal('subject' in rec, false);
    assert.equal(JSON.parse(createLine({ ...withDetails, isRead: true })).isRead, true);
  });
});

function createLine(e: WatchedEvent): string {
  const lines: string[] = [];
  createNdjsonSink((l) => lines.push(l)).write(e);
  assert.equal(lines.length, 1);
  return lines[0] as string;
}

describe('pretty with --details', () => {
  const fixed = (): string => '2013-09-16 06:31:29';
  const write = (e: WatchedEvent, o: { tty: boolean; columns?: number; level?: number }): string => {
    const lines: string[] = [];
    createPrettySink((l) => lines.push(l), {
      chalk: new Chalk({ level: (o.level ?? 0) as 0 }),
      tty: o.tty,
      formatTime: fixed,
      details: true,
      ...(o.columns !== undefined ? { columns: () => o.columns } : {}),
    }).write(e);
    return lines[0] as string;
  };
  it('off a TTY: six tab-separated columns (time, event, folder, sender, subject, details)', () => {
    assert.equal(write(withDetails, { tty: false }), '2013-09-16 06:31:29\tNewMail\tinbox\tZoë Müller\tGrüße aus München\thigh importance, attachments\n');
    assert.equal(write({ ...newMail, detailsError: 'ErrorItemNotFound' }, { tty: false }), '2013-09-16 06:31:29\tNewMail\tAAMk1\t\t\tno details: ErrorItemNotFound\n');
  });
  it('a subject with escape sequences, line breaks and bidi overrides reaches the terminal without them', () => {
    const nasty = { ...withDetails, details: { subject: '\u001b[2J\u001b[31mPay\u001b[0m now\r\n\u202egnp.exe', from: { name: 'Bob\u001b]0;x\u0007' } } };
    const line = write(nasty, { tty: true, columns: 200 });
    assert.equal(line, '2013-09-16 06:31:29  NewMail   inbox         Bob                   Pay now gnp.exe\n');
  });
  it('fits the terminal: below 100 columns the date goes, the subject is cut with an ellipsis, never wider', () => {
    const long = { ...withDetails, details: { ...withDetails.details, subject: '会議の議事録（第3四半期）と来週の予定について 🎉 お知らせ', importance: 'Normal', hasAttachments: false } };
    for (const columns of [60, 80, 99]) {
      const line = write(long, { tty: true, columns }).replace(/\n$/, '');
      assert.ok(line.startsWith('06:31:29  NewMail   inbox       Zoë Müller'), line);
      assert.ok(textWidth(line) <= columns, `${textWidth(line)} > ${columns}: ${line}`);
      assert.ok(textWidth(line) >= columns - 1, 'the subject uses the room there is');
      assert.ok(line.endsWith('…'));
    }
    const wide = write(long, { tty: true, columns: 200 });
    assert.match(wide, /^2013-09-16 06:31:29 {2}NewMail/);
    assert.ok(wide.includes('お知らせ\n'));
  });
  it('colours on a TTY do not count towards the width', () => {
    const line = write(withDetails, { tty: true, columns: 70, level: 1 }).replace(/\n$/, '');
    assert.match(line, /\u001b\[32mNewMail /);
    assert.ok(textWidth(line.replace(/\u001b\[[0-9;]*m/g, '')) <= 70);
  });
  it('a folder event names the folder it is about', () => {
    const ev: WatchedEvent = { mailbox: 'a@b.c', source: 'stream', targetName: 'inbox', event: { type: 'Modified', subscriptionId: 's', timestamp: 't', kind: 'folder', target: { id: 'F' }, unreadCount: 2 } };
    assert.equal(write(ev, { tty: false }), '2013-09-16 06:31:29\tModified\tfolder inbox\t\t\tunread 2\n');
  });
});

describe('terminal width', () => {
  it('wide characters and emoji take two cells, combining marks none', () => {
    assert.equal(textWidth('abc'), 3);
    assert.equal(textWidth('会議'), 4);
    assert.equal(textWidth('🎉x'), 3);
    assert.equal(textWidth('e\u0301'), 1);
    assert.equal(textWidth('👩‍💻'), 2);
  });
  it('cuts to the width with an ellipsis and never splits a character', () => {
    assert.equal(fitWidth('会議の議事録', 5), '会議…');
    assert.equal(fitWidth('short', 10), 'short');
    assert.equal(padWidth('会議', 6), '会議  ');
    assert.equal(padWidth('abcdefgh', 4), 'abc…');
  });
  it('cleanText removes whole escape sequences and turns line breaks into spaces', () => {
    assert.equal(cleanText('\u001b[1;31mred\u001b[0m\r\nnext\ttab'), 'red next tab');
    assert.equal(cleanText('\u001b]8;;https://x\u0007link\u001b]8;;\u0007'), 'link');
  });
});
