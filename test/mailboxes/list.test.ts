// Which mailboxes (src/mailboxes/list.ts, address.ts): the mailboxes file with its comments, line ends, byte-order
// marks, duplicates, bad lines and bounds; the repeatable --mailbox with comma lists; the SIGHUP diff by key.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isMailboxAddress, type Mailbox } from '../../src/mailboxes/address.js';
import { decodeMailboxFile, diffMailboxes, MAX_BYTES, MAX_LINES, parseMailboxList, splitMailboxFlags } from '../../src/mailboxes/list.js';

const addresses = (l: { mailboxes: readonly Mailbox[] }): string[] => l.mailboxes.map((m) => m.address);
const usage = (re: RegExp) => (e: Error) => e.name === 'UsageError' && re.test(e.message) && !e.message.includes('\n');

describe('parseMailboxList', () => {
  it('reads one address a line, with comments, blank lines, whitespace, CRLF, CR and a BOM', () => {
    const text = '\uFEFF# help desk\r\n  alice@contoso.com  \r\n\r\n\tBob@Contoso.com # the boss\r\ncarol@fabrikam.com\t#x\rdave@fabrikam.com\n   # indented comment\n';
    const list = parseMailboxList(text, 'mailboxes.txt');
    assert.deepEqual(list.mailboxes, [
      { address: 'alice@contoso.com', key: 'alice@contoso.com', line: 2 },
      { address: 'Bob@Contoso.com', key: 'bob@contoso.com', line: 4 },
      { address: 'carol@fabrikam.com', key: 'carol@fabrikam.com', line: 5 },
      { address: 'dave@fabrikam.com', key: 'dave@fabrikam.com', line: 6 },
    ]);
    assert.deepEqual(list.warnings, []);
    assert.deepEqual(parseMailboxList('\uFEFFalice@contoso.com\n', 'f').mailboxes, [{ address: 'alice@contoso.com', key: 'alice@contoso.com', line: 1 }]);
  });

  it('keeps # inside an address: a comment starts only at the line start or after whitespace', () => {
    assert.deepEqual(addresses(parseMailboxList('a#b@contoso.com\nc@contoso.com #note#x\n#d@contoso.com\n', 'f')), ['a#b@contoso.com', 'c@contoso.com']);
  });

  it('folds a mailbox named twice, case-insensitively, and names both lines', () => {
    const list = parseMailboxList('alice@contoso.com\nbob@contoso.com\nALICE@contoso.com\nbob@contoso.com\n', 'mailboxes.txt');
    assert.deepEqual(addresses(list), ['alice@contoso.com', 'bob@contoso.com']);
    assert.deepEqual(list.warnings, [
      'mailboxes.txt:3: ALICE@contoso.com is also on line 1 (as alice@contoso.com); watched once',
      'mailboxes.txt:4: bob@contoso.com is also on line 2; watched once',
    ]);
  });

  it('bounds the duplicate warnings: a list pasted twice gives ten and a summary', () => {
    const once = Array.from({ length: 25 }, (_, i) => `u${i}@contoso.com`).join('\n');
    const list = parseMailboxList(`${once}\n${once}\n`, 'm.txt');
    assert.equal(list.mailboxes.length, 25);
    assert.equal(list.warnings.length, 11);
    assert.equal(list.warnings[0], 'm.txt:26: u0@contoso.com is also on line 1; watched once');
    assert.equal(list.warnings[10], 'm.txt: 15 more mailboxes named twice; each watched once');
  });

  it('refuses a bad line with file, line number, the text, and how many more there are', () => {
    const text = 'alice@contoso.com\n' + 'x@contoso.com\n'.repeat(10) + 'bob@\n';
    assert.throws(() => parseMailboxList(text, 'mailboxes.txt'), usage(/^mailboxes\.txt:12: "bob@" is not an email address$/));
    assert.throws(() => parseMailboxList('bob@\nok@x.com\n@x.com\nfoo\n', 'm.txt'), usage(/^m\.txt:1: "bob@" is not an email address \(and 2 more lines like it, the next on line 3\)$/));
    assert.throws(() => parseMailboxList('a@x.com\nbob@\nc\n', 'm.txt'), usage(/^m\.txt:2: "bob@" is not an email address \(and 1 more line like it, the next on line 3\)$/));
  });

  it('says how to fix the common paste mistakes', () => {
    assert.throws(() => parseMailboxList('Bob Smith <bob@contoso.com>\n', 'm.txt'), usage(/^m\.txt:1: "Bob Smith <bob@contoso.com>" is not an email address: write the address alone, bob@contoso.com$/));
    assert.throws(() => parseMailboxList('a@contoso.com, b@contoso.com\n', 'm.txt'), usage(/^m\.txt:1: "a@contoso\.com, b@contoso\.com" is not an email address: write one address a line$/));
    assert.throws(() => parseMailboxList('a@contoso.com;b@contoso.com\n', 'm.txt'), usage(/write one address a line$/));
  });

  it('quotes a bad line safely: escaped control characters, at most 80 characters', () => {
    assert.throws(() => parseMailboxList('bob@\u001b[31mx\n', 'm.txt'), usage(/^m\.txt:1: "bob@\\u001b\[31mx" is not an email address$/));
    const long = 'x'.repeat(5000);
    assert.throws(() => parseMailboxList(long, 'm.txt'), usage(new RegExp(`^m\\.txt:1: "${'x'.repeat(79)}…" is not an email address: longer than 254 characters$`)));
    assert.throws(() => parseMailboxList(`${'l'.repeat(65)}@contoso.com`, 'm.txt'), usage(/is not an email address: the part before @ is longer than 64 characters$/));
  });

  it('refuses a file naming no mailbox (an empty or half-written file must not unsubscribe everything)', () => {
    for (const text of ['', '\n\n', '# only a comment\n', '\uFEFF']) {
      assert.throws(() => parseMailboxList(text, 'm.txt'), usage(/^m\.txt names no mailbox: write one SMTP address a line, e\.g\. alice@contoso\.com$/), JSON.stringify(text));
    }
  });

  it('refuses NUL bytes (UTF-16 without its byte-order mark, or not text)', () => {
    assert.throws(() => parseMailboxList('a\u0000@\u0000x\u0000.\u0000c\u0000o\u0000m\u0000', 'm.txt'), usage(/^m\.txt holds NUL bytes: save it as UTF-8 text/));
  });

  it('takes thousands of addresses, up to MAX_LINES lines, and refuses one line more', () => {
    const lines = Array.from({ length: MAX_LINES }, (_, i) => (i % 10 === 0 ? '# comment' : `user${i}@contoso.com`));
    const list = parseMailboxList(lines.join('\n') + '\n', 'big.txt');
    assert.equal(list.mailboxes.length, MAX_LINES - MAX_LINES / 10);
    assert.equal(list.mailboxes.at(-1)!.line, MAX_LINES);
    assert.throws(() => parseMailboxList(lines.join('\n') + '\nlast@contoso.com\n', 'big.txt'), usage(/^big\.txt has more than 200000 lines; a mailboxes file may hold at most 200000: is it the right file\?$/));
  });

  it('refuses more than MAX_BYTES of text, counted in UTF-8 bytes', () => {
    const comment = `#${'é'.repeat(MAX_BYTES / 4)}\n`; // 2 bytes a character: MAX_BYTES / 2 + 2 bytes
    assert.equal(parseMailboxList(`${comment}a@contoso.com\n`, 'f').mailboxes.length, 1);
    assert.throws(() => parseMailboxList(`${comment}${comment}a@contoso.com\n`, 'f'), usage(/^f is 16\.0 MiB; a mailboxes file may hold at most 16\.0 MiB \(200000 lines\): is it the right file\?$/));
  });
});

describe('decodeMailboxFile', () => {
  const utf16le = (s: string, bom = true): Uint8Array => new Uint8Array([...(bom ? [0xff, 0xfe] : []), ...Buffer.from(s, 'utf16le')]);

  it('reads UTF-8 with and without a BOM, and UTF-16 LE and BE with one (Windows PowerShell 5 writes UTF-16 LE)', () => {
    const text = 'alice@contoso.com\r\n# Müller\r\nbob@contoso.com\r\n';
    const expected = ['alice@contoso.com', 'bob@contoso.com'];
    assert.deepEqual(addresses(parseMailboxList(decodeMailboxFile(Buffer.from(text), 'f'), 'f')), expected);
    assert.deepEqual(addresses(parseMailboxList(decodeMailboxFile(Buffer.from(`\uFEFF${text}`), 'f'), 'f')), expected);
    assert.deepEqual(addresses(parseMailboxList(decodeMailboxFile(utf16le(text), 'f'), 'f')), expected);
    const be = utf16le(text);
    for (let i = 0; i < be.length; i += 2) [be[i], be[i + 1]] = [be[i + 1]!, be[i]!];
    assert.deepEqual(addresses(parseMailboxList(decodeMailboxFile(be, 'f'), 'f')), expected);
  });

  it('leaves UTF-16 without a BOM to the NUL check, and a bad UTF-8 byte to the address check', () => {
    assert.throws(() => parseMailboxList(decodeMailboxFile(utf16le('a@x.com\n', false), 'f'), 'f'), usage(/^f holds NUL bytes/));
    assert.throws(() => parseMailboxList(decodeMailboxFile(new Uint8Array([0x61, 0xe9, 0x40, 0x78, 0x2e, 0x63, 0x6f]), 'f'), 'f'), usage(/^f:1: "a\uFFFD@x\.co" is not an email address$/));
  });

  it('refuses more than MAX_BYTES bytes', () => {
    assert.throws(() => decodeMailboxFile(new Uint8Array(MAX_BYTES + 1), 'stdin'), usage(/^stdin is 16\.0 MiB; a mailboxes file may hold at most 16\.0 MiB/));
  });
});

describe('isMailboxAddress', () => {
  it('accepts dot-atom addresses on dotted LDH domains, and nothing else', () => {
    for (const ok of ['a@b.co', 'first.last@contoso.com', "o'brien+tag@sub.contoso.co.uk", 'a#b@x.io', `${'l'.repeat(64)}@x.com`, 'x@a-b.c-d.com']) assert.equal(isMailboxAddress(ok), true, ok);
    const bad = ['bob@', '@contoso.com', 'bob', 'bob@contoso', 'a..b@x.com', '.a@x.com', 'a.@x.com', 'a@-x.com', 'a@x-.com', 'a@x..com', 'a b@x.com', '"a b"@x.com', 'a@b@x.com', 'ü@x.com', 'a@ü.com', 'a@x.com\n', `${'l'.repeat(65)}@x.com`, `a@${'d'.repeat(63)}.${'d'.repeat(63)}.${'d'.repeat(63)}.${'d'.repeat(63)}.com`, `a@${'d'.repeat(64)}.com`];
    assert.equal(isMailboxAddress(`a@${'d'.repeat(63)}.com`), true);
    for (const no of bad) assert.equal(isMailboxAddress(no), false, no);
  });
});

describe('splitMailboxFlags', () => {
  it('takes repeated flags and comma lists, in order, ignoring spaces and empty items', () => {
    const list = splitMailboxFlags(['alice@contoso.com, Bob@contoso.com,', ' carol@fabrikam.com ']);
    assert.deepEqual(list.mailboxes, [
      { address: 'alice@contoso.com', key: 'alice@contoso.com' },
      { address: 'Bob@contoso.com', key: 'bob@contoso.com' },
      { address: 'carol@fabrikam.com', key: 'carol@fabrikam.com' },
    ]);
    assert.deepEqual(list.warnings, []);
  });

  it('folds duplicates with a warning', () => {
    const list = splitMailboxFlags(['alice@contoso.com,ALICE@CONTOSO.COM', 'alice@contoso.com']);
    assert.deepEqual(addresses(list), ['alice@contoso.com']);
    assert.deepEqual(list.warnings, ['--mailbox ALICE@CONTOSO.COM is given twice (also as alice@contoso.com); watched once', '--mailbox alice@contoso.com is given twice; watched once']);
  });

  it('refuses a bad item or an empty value, naming the flag', () => {
    assert.throws(() => splitMailboxFlags(['alice@contoso.com,bob@']), usage(/^--mailbox: "bob@" is not an email address$/));
    assert.throws(() => splitMailboxFlags(['alice@contoso.com', ' , ']), usage(/^--mailbox needs an SMTP address, e\.g\. --mailbox alice@contoso\.com$/));
    assert.throws(() => splitMailboxFlags(['a@x.com;b@x.com'], 'EWS_MAILBOX'), usage(/^EWS_MAILBOX: "a@x\.com;b@x\.com" is not an email address: write one address a line$/));
  });
});

describe('diffMailboxes', () => {
  const m = (address: string, line?: number): Mailbox => (line === undefined ? { address, key: address.toLowerCase() } : { address, key: address.toLowerCase(), line });

  it('splits into added, removed and kept by key, each in a stable order', () => {
    const before = [m('a@x.com', 1), m('b@x.com', 2), m('c@x.com', 3), m('d@x.com', 4)];
    const after = [m('e@x.com', 1), m('C@X.com', 2), m('a@x.com', 3), m('f@x.com', 4)];
    const d = diffMailboxes(before, after);
    assert.deepEqual(d.added, [m('e@x.com', 1), m('f@x.com', 4)]);
    assert.deepEqual(d.removed, [m('b@x.com', 2), m('d@x.com', 4)]);
    assert.deepEqual(d.kept, [m('C@X.com', 2), m('a@x.com', 3)], "the new list's entries, in its order");
  });

  it('moves nothing when only case or order changes, and everything from or to an empty list', () => {
    const before = [m('a@x.com'), m('b@x.com')];
    const same = diffMailboxes(before, [m('B@x.com'), m('A@x.com')]);
    assert.deepEqual([same.added, same.removed, same.kept.map((k) => k.key)], [[], [], ['b@x.com', 'a@x.com']]);
    assert.deepEqual(diffMailboxes([], before), { added: before, removed: [], kept: [] });
    assert.deepEqual(diffMailboxes(before, []), { added: [], removed: before, kept: [] });
  });

  it('counts a key given twice once', () => {
    const d = diffMailboxes([m('a@x.com'), m('A@x.com')], [m('b@x.com'), m('B@x.com')]);
    assert.deepEqual([d.added.map((x) => x.address), d.removed.map((x) => x.address)], [['b@x.com'], ['a@x.com']]);
  });
});
