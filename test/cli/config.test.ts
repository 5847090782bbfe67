import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveConnection as resolveConnectionFrom, resolveWatchSettings, type ConnectionSettings, type RawOptions } from '../../src/cli/config.js';
import { UsageError } from '../../src/errors.js';
import { createLookup, type Env } from '../../src/cli/precedence.js';

/** The connection from flags, the environment and .env, as a command resolves it (through precedence.ts). */
const resolveConnection = (raw: RawOptions, env: Env, dotenv: Env = {}): ConnectionSettings => resolveConnectionFrom(raw, createLookup({ env, dotenv })) as ConnectionSettings;

const usage = (fn: () => unknown, pattern: RegExp): void => {
  assert.throws(fn, (err: unknown) => err instanceof UsageError && pattern.test(err.message));
};

describe('resolveWatchSettings', () => {
  it('defaults: inbox, all seven events, ndjson off a TTY, pretty on one, 30 min, 90 s', () => {
    const s = resolveWatchSettings({}, false);
    assert.deepEqual(s.folders, { kind: 'folders', folders: [{ kind: 'distinguished', name: 'inbox' }] });
    assert.deepEqual(s.events, ['NewMail', 'Created', 'Deleted', 'Modified', 'Moved', 'Copied', 'FreeBusyChanged']);
    assert.equal(s.format, 'ndjson');
    assert.equal(resolveWatchSettings({}, true).format, 'pretty');
    assert.equal(s.connectionTimeoutMinutes, 30);
    assert.equal(s.heartbeatTimeoutMs, 90_000);
    assert.equal(s.maxEvents, undefined);
    assert.ok(Object.isFrozen(s));
  });
  it('folders: repeatable and comma lists, case-insensitive names, FolderIds kept, duplicates folded', () => {
    const s = resolveWatchSettings({ folder: ['Inbox,sentitems', 'AAMkADg4MTg2OTVjLTY5', 'INBOX'] }, false);
    assert.deepEqual(s.folders, {
      kind: 'folders',
      folders: [
        { kind: 'distinguished', name: 'inbox' },
        { kind: 'distinguished', name: 'sentitems' },
        { kind: 'id', id: 'AAMkADg4MTg2OTVjLTY5' },
      ],
    });
    assert.equal(s.folderLabel, 'inbox, sentitems, folder id');
    assert.deepEqual(resolveWatchSettings({ allFolders: true }, false).folders, { kind: 'all' });
  });
  it('events: short and EWS spellings, any case, in the order given', () => {
    assert.deepEqual(resolveWatchSettings({ events: 'newmail, CreatedEvent,NewMail' }, false).events, ['NewMail', 'Created']);
  });
  it('--json and --format', () => {
    assert.equal(resolveWatchSettings({ json: true }, true).format, 'ndjson');
    assert.equal(resolveWatchSettings({ format: 'pretty' }, false).format, 'pretty');
  });
  it('numbers in range', () => {
    assert.equal(resolveWatchSettings({ maxEvents: '3', connectionTimeout: '1', heartbeatTimeout: '2.5' }, false).heartbeatTimeoutMs, 2500);
    assert.equal(resolveWatchSettings({ connectionTimeout: '30' }, false).connectionTimeoutMinutes, 30);
  });
  it('--since now, in any case and with spaces around it; absent unless given', () => {
    assert.equal(resolveWatchSettings({ since: 'now' }, false).since, 'now');
    assert.equal(resolveWatchSettings({ since: ' NOW ' }, false).since, 'now');
    assert.equal(resolveWatchSettings({ since: 'Now', events: 'NewMail', from: ['bank'], maxEvents: '1' }, false).backfill, false);
    assert.equal('since' in resolveWatchSettings({}, false), false);
  });
  const bad: [string, Parameters<typeof resolveWatchSettings>[0], RegExp][] = [
    ['timeout 0', { connectionTimeout: '0' }, /--connection-timeout must be from 1 to 30, got 0/],
    ['timeout 31', { connectionTimeout: '31' }, /--connection-timeout must be from 1 to 30, got 31/],
    ['timeout words', { connectionTimeout: 'ten' }, /--connection-timeout must be a whole number/],
    ['max-events 0', { maxEvents: '0' }, /^--max-events must be 1 or more, got 0$/],
    ['max-events -1', { maxEvents: '-1' }, /^--max-events must be a whole number, 1 or more, got -1$/],
    ['heartbeat 0.5', { heartbeatTimeout: '0.5' }, /--heartbeat-timeout must be from 1 to 3600/],
    ['unknown event', { events: 'NewMail,Arrived' }, /unknown event "Arrived"/],
    ['empty events', { events: ' , ' }, /--events needs at least one/],
    ['bad format', { format: 'xml' }, /--format must be pretty or ndjson/],
    ['json + pretty', { json: true, format: 'pretty' }, /--json conflicts with --format pretty/],
    ['bad colour', { color: 'sometimes' }, /--color must be auto, always or never/],
    ['verbose + quiet', { verbose: true, quiet: true }, /cannot be used together/],
    ['all + folder', { allFolders: true, folder: ['inbox'] }, /--all-folders and --folder/],
    ['folder junk', { folder: ['my stuff'] }, /neither a known folder name/],
    ['since yesterday', { since: 'yesterday' }, /^--since must be now \(only what happens from the start of this run\), got "yesterday"$/],
    ['since a date', { since: '2024-05-01T00:00:00Z' }, /^--since must be now .*, got "2024-05-01T00:00:00Z"$/],
    ['since empty', { since: '' }, /^--since must be now .*, got ""$/],
    ['since now + backfill', { since: 'now', backfill: true }, /^--since now and --backfill contradict each other/],
    ['since now + state-dir', { since: 'now', stateDir: '/var/lib/ews-watch' }, /^--since now keeps its sync state in memory and uses no state directory: leave out --state-dir$/],
  ];
  for (const [name, raw, pattern] of bad) it(`rejects ${name}`, () => usage(() => resolveWatchSettings(raw, false), pattern));
});

describe('resolveConnection', () => {
  const env = { EWS_URL: 'https://mail.contoso.com/EWS/Exchange.asmx', EWS_USER: 'alice@contoso.com' };
  it('takes the environment, and a flag beats it, and it beats .env', () => {
    const c = resolveConnection({ user: 'bob@contoso.com' }, env, { EWS_URL: 'https://other.example/EWS/Exchange.asmx', EWS_AUTH: 'basic' });
    assert.equal(c.url.href, 'https://mail.contoso.com/EWS/Exchange.asmx');
    assert.equal(c.user, 'bob@contoso.com');
    assert.equal(c.mailbox, 'bob@contoso.com');
    assert.equal(c.auth, 'basic');
    assert.deepEqual({ ...c.sources }, { url: 'env', auth: '.env', user: 'flag', caFile: 'default', mailbox: 'default', serverVersion: 'default' });
    assert.equal(c.serverVersion, 'Exchange2013_SP1');
  });
  it('a DOMAIN\\user without --mailbox leaves the mailbox to be found after sign-in; --mailbox still wins', () => {
    const found = resolveConnection({ user: 'CONTOSO\\alice' }, { EWS_URL: env.EWS_URL }, {});
    assert.equal(found.mailbox, undefined);
    assert.equal(found.user, 'CONTOSO\\alice');
    assert.equal(found.sources.mailbox, 'default');
    assert.equal(resolveConnection({ user: 'CONTOSO\\alice', mailbox: 'alice@contoso.com' }, env, {}).mailbox, 'alice@contoso.com');
    assert.equal(resolveConnection({ user: 'CONTOSO\\alice' }, { ...env, EWS_MAILBOX: 'shared@contoso.com' }, {}).mailbox, 'shared@contoso.com');
    // Without a user there is nobody to ask about: a token still needs --mailbox.
    usage(() => resolveConnection({ auth: 'token' }, { EWS_URL: env.EWS_URL }, {}), /no mailbox: pass --mailbox/);
  });
  it('refuses Basic over plain http except to loopback (auto decides later, from what the server offers)', () => {
    usage(() => resolveConnection({ url: 'http://mail.contoso.com/EWS/Exchange.asmx', auth: 'basic' }, env, {}), /refusing to send a password .* plain http/);
    for (const host of ['127.0.0.1:8080', 'localhost', '[::1]']) {
      assert.equal(resolveConnection({ url: `http://${host}/EWS/Exchange.asmx`, auth: 'basic' }, env, {}).auth, 'basic');
    }
    assert.equal(resolveConnection({ url: 'http://mail.contoso.com/EWS/Exchange.asmx' }, env, {}).auth, 'auto');
  });
  it('no URL with an SMTP address: autodiscover is to find it (for the mailbox), with the domains allowed besides its own', () => {
    const c = resolveConnectionFrom({ mailbox: 'shared@contoso.com', autodiscoverAllow: ' Hoster.Example, .other.example.' }, createLookup({ env: { EWS_USER: 'alice@contoso.com' }, dotenv: {} }));
    assert.equal(c.url, undefined);
    assert.deepEqual(c.autodiscover, { address: 'shared@contoso.com', allowedDomains: ['hoster.example', 'other.example'] });
    // A URL wins, always: no autodiscover then.
    const given = resolveConnectionFrom({ url: 'https://mail.contoso.com/EWS/Exchange.asmx' }, createLookup({ env: { EWS_USER: 'alice@contoso.com' }, dotenv: {} }));
    assert.equal(given.autodiscover, undefined);
    assert.equal(given.url?.href, 'https://mail.contoso.com/EWS/Exchange.asmx');
  });
  const bad: [string, Parameters<typeof resolveConnection>[0], Record<string, string>, RegExp][] = [
    ['no url and no address to autodiscover', {}, { EWS_USER: 'CONTOSO\\a' }, /^no EWS URL, and autodiscover needs an SMTP address, not "CONTOSO\\\\a": pass --url .* or --mailbox/],
    ['no url with --auth token', { auth: 'token' }, { EWS_USER: 'a@b.c' }, /no EWS URL: --auth token does not use autodiscover/],
    ['a bad --autodiscover-allow', { autodiscoverAllow: 'hoster.example,not a domain' }, { EWS_USER: 'a@b.c' }, /--autodiscover-allow takes domain names such as hoster\.example, got "not a domain"/],
    ['bad url', { url: 'mail.contoso.com' }, env, /--url is not a URL/],
    ['ftp url', { url: 'ftp://mail.contoso.com/' }, env, /must be http or https/],
    ['credentials in url', { url: 'https://a:b@mail.contoso.com/EWS/Exchange.asmx' }, env, /must not carry credentials/],
    ['unknown auth', { auth: 'kerberos' }, env, /--auth must be one of/],
    ['ntlm without a user', { auth: 'ntlm' }, { EWS_URL: env.EWS_URL }, /no user name/],
    ['no user', {}, { EWS_URL: env.EWS_URL }, /no user name/],
    ['bad mailbox', { mailbox: 'alice' }, env, /--mailbox must be an SMTP address/],
    ['bad version', { serverVersion: 'Exchange2007' }, env, /--server-version must be one of/],
  ];
  for (const [name, raw, e, pattern] of bad) it(`rejects ${name}`, () => usage(() => resolveConnection(raw, e, {}), pattern));
  it('token auth needs no user but a mailbox', () => {
    const c = resolveConnection({ auth: 'token', mailbox: 'svc@contoso.com' }, { EWS_URL: env.EWS_URL }, {});
    assert.equal(c.auth, 'token');
    assert.equal(c.user, undefined);
  });
});
