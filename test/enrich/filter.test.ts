// --from / --subject patterns: substrings in any case, /regex/flags, and refusals with one clear line.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { createEventFilter, parsePattern } from '../../src/enrich/filter.js';
import { itemEvent, mail } from './helpers.js';

const bank = itemEvent('NewMail', 'a', { details: mail('Your one-time code: 482913', 'Woodgrove Bank', 'noreply@woodgrovebank.com') });
const lunch = itemEvent('NewMail', 'b', { details: mail('Lunch? 🍜', 'Adele Vance', 'adele@contoso.com') });

describe('patterns', () => {
  it('plain text is a substring in any case', () => {
    const m = parsePattern('--from', 'BANK');
    assert.equal(m('noreply@woodgrovebank.com'), true);
    assert.equal(m('adele@contoso.com'), false);
  });
  it('/regex/ with flags; without i it is case-sensitive', () => {
    assert.equal(parsePattern('--subject', '/code: \\d{6}$/')('Your one-time code: 482913'), true);
    assert.equal(parsePattern('--subject', '/CODE/')('Your one-time code'), false);
    assert.equal(parsePattern('--subject', '/CODE/i')('Your one-time code'), true);
  });
  it('a lone slash or // is text', () => {
    assert.equal(parsePattern('--subject', '/tmp')('see /tmp/x'), true);
    assert.equal(parsePattern('--subject', '//')('a//b'), true);
  });
  it('an invalid regex, a stateful flag or an empty pattern is a UsageError naming the flag', () => {
    assert.throws(() => parsePattern('--from', '/(unclosed/'), (e: unknown) => e instanceof UsageError && /^--from \/\(unclosed\/ is not a valid regular expression: /.test(e.message));
    assert.throws(() => parsePattern('--subject', '/x/g'), (e: unknown) => e instanceof UsageError && /flag g cannot be used here/.test(e.message));
    assert.throws(() => parsePattern('--subject', '  '), /--subject needs a pattern/);
  });
});

describe('event filter', () => {
  it('nothing to filter: undefined', () => {
    assert.equal(createEventFilter([], []), undefined);
  });
  it('--from matches the name, the address or "Name <address>"', () => {
    const byName = createEventFilter([parsePattern('--from', 'woodgrove bank')], []);
    const byAddress = createEventFilter([parsePattern('--from', '/^noreply@/')], []);
    const byBoth = createEventFilter([parsePattern('--from', '/^Woodgrove Bank <noreply@/')], []);
    for (const f of [byName, byAddress, byBoth]) {
      assert.equal(f?.(bank), true);
      assert.equal(f?.(lunch), false);
    }
  });
  it('repeating a flag widens; --from and --subject together narrow', () => {
    const either = createEventFilter([parsePattern('--from', 'bank'), parsePattern('--from', 'adele')], []);
    assert.deepEqual([either?.(bank), either?.(lunch)], [true, true]);
    const both = createEventFilter([parsePattern('--from', 'bank')], [parsePattern('--subject', 'lunch')]);
    assert.deepEqual([both?.(bank), both?.(lunch)], [false, false]);
  });
  it('events without details (deleted, folder events, lookups that failed) never match', () => {
    const f = createEventFilter([], [parsePattern('--subject', '/.*/')]);
    assert.equal(f?.(itemEvent('Deleted', 'x')), false);
    assert.equal(f?.(itemEvent('NewMail', 'x', { detailsError: 'ErrorItemNotFound' })), false);
  });
  it('matches the subject as a person sees it: escape sequences and line breaks do not hide a word', () => {
    const f = createEventFilter([], [parsePattern('--subject', 'urgent payment')]);
    assert.equal(f?.(itemEvent('NewMail', 'x', { details: mail('\u001b[31mURGENT\u001b[0m\r\nPAYMENT', 'a', 'a@x') })), true);
  });
});
