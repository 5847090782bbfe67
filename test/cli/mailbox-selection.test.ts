// Which mailboxes a watch is about (src/cli/mailbox-selection.ts): one (today's watch) or many; "which mailboxes" is
// one setting, so a flag (--mailbox or --mailboxes-file) replaces both variables, else EWS_MAILBOX and
// EWS_MAILBOXES_FILE (environment, else .env) make it together; empty values count as unset; bad input is one line.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveMailboxSelection, type MailboxFlags, type MailboxSelection } from '../../src/cli/mailbox-selection.js';
import { createLookup } from '../../src/cli/precedence.js';
import { UsageError } from '../../src/errors.js';

type Vars = Record<string, string>;

/** A short picture of a selection: "one", "one:<flag address>", or "many:<addresses>|file=<path> (<named>)|shard=K/N". */
function picture(sel: MailboxSelection): string {
  if (sel.kind === 'one') return sel.mailbox === undefined ? 'one' : `one:${sel.mailbox}`;
  const parts = [`many:${sel.given.map((m) => m.address).join(',')}`];
  if (sel.file) parts.push(`file=${sel.file.path} (${sel.file.named})`);
  if (sel.shard) parts.push(`shard=${sel.shard.index}/${sel.shard.count}`);
  return parts.join('|');
}

function select(flags: MailboxFlags, env: Vars = {}, dotenv: Vars = {}): string {
  return picture(resolveMailboxSelection(flags, createLookup({ env, dotenv })));
}

function failure(flags: MailboxFlags, env: Vars = {}, dotenv: Vars = {}): string {
  try {
    resolveMailboxSelection(flags, createLookup({ env, dotenv }));
  } catch (err) {
    assert.ok(err instanceof UsageError, String(err));
    assert.doesNotMatch(err.message, /\n/);
    return err.message;
  }
  return assert.fail('no error');
}

describe('mailbox selection: one or many, and where from', () => {
  const cases: Array<[string, MailboxFlags, Vars, Vars, string]> = [
    // name, flags, environment, .env → picture
    ['nothing anywhere: one (the user, as today)', {}, {}, {}, 'one'],
    ['one --mailbox: today\'s watch, the value as typed', { mailboxes: ['Ann@contoso.com'] }, {}, {}, 'one:Ann@contoso.com'],
    ['EWS_MAILBOX with one address: one (resolveConnection reads it, as today)', {}, { EWS_MAILBOX: 'ann@contoso.com' }, {}, 'one'],
    ['a comma list in one --mailbox: many', { mailboxes: ['a@contoso.com, b@contoso.com'] }, {}, {}, 'many:a@contoso.com,b@contoso.com'],
    ['--mailbox twice: many', { mailboxes: ['a@contoso.com', 'b@contoso.com'] }, {}, {}, 'many:a@contoso.com,b@contoso.com'],
    ['the same mailbox twice (any case): still one, watched as today', { mailboxes: ['a@contoso.com', 'A@contoso.com'] }, {}, {}, 'one:a@contoso.com'],
    ['a trailing comma: one', { mailboxes: ['a@contoso.com,'] }, {}, {}, 'one:a@contoso.com'],
    ['EWS_MAILBOX with a comma list: many', {}, { EWS_MAILBOX: 'a@contoso.com,b@contoso.com' }, {}, 'many:a@contoso.com,b@contoso.com'],
    ['EWS_MAILBOX from .env with a comma list: many', {}, {}, { EWS_MAILBOX: 'a@contoso.com,b@contoso.com' }, 'many:a@contoso.com,b@contoso.com'],
    ['the environment beats .env for EWS_MAILBOX', {}, { EWS_MAILBOX: 'e@contoso.com,f@contoso.com' }, { EWS_MAILBOX: 'd@contoso.com,g@contoso.com' }, 'many:e@contoso.com,f@contoso.com'],
    ['an empty EWS_MAILBOX is unset: .env shows through', {}, { EWS_MAILBOX: '' }, { EWS_MAILBOX: 'd@contoso.com,g@contoso.com' }, 'many:d@contoso.com,g@contoso.com'],
    ['a file, even alone: many', { mailboxesFile: 'list.txt' }, {}, {}, 'many:|file=list.txt (--mailboxes-file)'],
    ['--mailbox and --mailboxes-file together: both', { mailboxes: ['a@contoso.com'], mailboxesFile: 'list.txt' }, {}, {}, 'many:a@contoso.com|file=list.txt (--mailboxes-file)'],
    ['EWS_MAILBOXES_FILE from the environment', {}, { EWS_MAILBOXES_FILE: 'env.txt' }, {}, 'many:|file=env.txt (EWS_MAILBOXES_FILE (from the environment))'],
    ['EWS_MAILBOXES_FILE from .env', {}, {}, { EWS_MAILBOXES_FILE: 'dot.txt' }, 'many:|file=dot.txt (EWS_MAILBOXES_FILE in ./.env)'],
    ['an empty EWS_MAILBOXES_FILE is unset', {}, { EWS_MAILBOXES_FILE: '' }, {}, 'one'],
    ['both variables: they make the list together', {}, { EWS_MAILBOX: 'a@contoso.com', EWS_MAILBOXES_FILE: 'env.txt' }, {}, 'many:a@contoso.com|file=env.txt (EWS_MAILBOXES_FILE (from the environment))'],
    ['--mailbox replaces both variables (a .env for one mailbox adds nothing)', { mailboxes: ['a@contoso.com', 'b@contoso.com'] }, { EWS_MAILBOXES_FILE: 'env.txt' }, { EWS_MAILBOX: 'd@contoso.com' }, 'many:a@contoso.com,b@contoso.com'],
    ['--mailboxes-file replaces EWS_MAILBOX', { mailboxesFile: 'list.txt' }, { EWS_MAILBOX: 'e@contoso.com' }, {}, 'many:|file=list.txt (--mailboxes-file)'],
    ['one --mailbox replaces EWS_MAILBOXES_FILE: one', { mailboxes: ['a@contoso.com'] }, { EWS_MAILBOXES_FILE: 'env.txt' }, {}, 'one:a@contoso.com'],
    ['--shard makes even one mailbox many', { mailboxes: ['a@contoso.com'], shard: '0/2' }, {}, {}, 'many:a@contoso.com|shard=0/2'],
    ['--shard beats EWS_SHARD', { mailboxesFile: 'l.txt', shard: '1/2' }, { EWS_SHARD: '0/2' }, {}, 'many:|file=l.txt (--mailboxes-file)|shard=1/2'],
    ['EWS_SHARD from .env', { mailboxesFile: 'l.txt' }, {}, { EWS_SHARD: '2/3' }, 'many:|file=l.txt (--mailboxes-file)|shard=2/3'],
    ['an empty EWS_SHARD is unset', { mailboxesFile: 'l.txt' }, { EWS_SHARD: '' }, {}, 'many:|file=l.txt (--mailboxes-file)'],
  ];
  for (const [name, flags, env, dotenv, want] of cases) it(name, () => assert.equal(select(flags, env, dotenv), want));
});

describe('mailbox selection: bad input is one line naming where it came from', () => {
  const cases: Array<[string, MailboxFlags, Vars, string]> = [
    ['a bad address in a list', { mailboxes: ['a@contoso.com,bob'] }, {}, '--mailbox: "bob" is not an email address'],
    ['a bad address in EWS_MAILBOX\'s list', {}, { EWS_MAILBOX: 'a@contoso.com,Bob <bob@contoso.com>' }, 'EWS_MAILBOX (from the environment): "Bob <bob@contoso.com>" is not an email address: write the address alone, bob@contoso.com'],
    ['an empty --mailbox among others', { mailboxes: ['a@contoso.com', ' , '] }, {}, '--mailbox needs an SMTP address, e.g. --mailbox alice@contoso.com'],
    ['an empty --mailboxes-file', { mailboxesFile: ' ' }, {}, '--mailboxes-file needs a file name (or - for standard input)'],
    ['--shard 3/3', { mailboxesFile: 'l.txt', shard: '3/3' }, {}, '--shard 3/3: K must be below N, as shards are numbered from 0 (0/3 to 2/3)'],
    ['an empty --shard', { mailboxesFile: 'l.txt', shard: '' }, {}, '--shard must be K/N (this process\'s number K, from 0, of N processes), not "": e.g. --shard 0/3, 1/3 and 2/3 for three processes'],
    ['a bad EWS_SHARD is blamed on it', { mailboxesFile: 'l.txt' }, { EWS_SHARD: '1 of 3' }, 'EWS_SHARD (from the environment) must be K/N (this process\'s number K, from 0, of N processes), not "1 of 3": e.g. --shard 0/3, 1/3 and 2/3 for three processes'],
    ['--shard with no list at all', { shard: '0/2' }, {}, '--shard splits a list of mailboxes: name them with --mailboxes-file FILE or --mailbox a@contoso.com,b@contoso.com'],
  ];
  for (const [name, flags, env, want] of cases) it(name, () => assert.equal(failure(flags, env), want));
});
