// The environment of a hook run: which EWS_* variables are set, how server text is sanitised, what is withheld.
// Also the pure folding of a burst (which event names a run carries).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hookEnv } from '../../src/hooks/index.js';
import { buildChildEnv, MAX_ENV_VALUE_CHARS, sanitizeText } from '../../src/hooks/env.js';
import { foldEvents, mostSignificant } from '../../src/hooks/fold.js';
import type { HookEventFields } from '../../src/hooks/types.js';

const base: HookEventFields = { event: 'NewMail', mailbox: 'alice@contoso.com', source: 'stream', timestamp: '2013-09-16T04:31:29Z' };

test('hookEnv sets exactly the known fields under their EWS_* names', () => {
  assert.deepEqual(hookEnv(base), {
    EWS_EVENT: 'NewMail',
    EWS_MAILBOX: 'alice@contoso.com',
    EWS_SOURCE: 'stream',
    EWS_TIMESTAMP: '2013-09-16T04:31:29Z',
  });
  assert.deepEqual(hookEnv({ ...base, itemId: 'AAMk1', folderId: 'AQMk2', subject: 'Hi', from: 'bob@contoso.com', folder: 'inbox' }), {
    EWS_EVENT: 'NewMail',
    EWS_ITEM_ID: 'AAMk1',
    EWS_FOLDER_ID: 'AQMk2',
    EWS_SUBJECT: 'Hi',
    EWS_FROM: 'bob@contoso.com',
    EWS_FOLDER: 'inbox',
    EWS_MAILBOX: 'alice@contoso.com',
    EWS_SOURCE: 'stream',
    EWS_TIMESTAMP: '2013-09-16T04:31:29Z',
  });
});

test('hookEnv strips whole ANSI escape sequences, NULs and controls from server text', () => {
  const env = hookEnv({
    ...base,
    subject: '\u001b[1;31mURGENT\u001b[0m pay\u0000 now\u0007',
    from: '\u001b]8;;https://evil.example\u0007Bob\u001b]8;;\u0007 <bob@contoso.com>',
  });
  assert.equal(env.EWS_SUBJECT, 'URGENT pay now');
  assert.equal(env.EWS_FROM, 'Bob <bob@contoso.com>');
});

test('sanitizeText: line breaks become spaces; bidi overrides, C1 CSI and charset escapes go', () => {
  assert.equal(sanitizeText('line one\r\nline\ttwo'), 'line one line two');
  assert.equal(sanitizeText('abc\u202edcba'), 'abcdcba');
  assert.equal(sanitizeText('\u009b31mred'), 'red');
  assert.equal(sanitizeText('\u001b(Bplain\u001bc'), 'plain');
});

test('values are bounded in length', () => {
  const env = hookEnv({ ...base, subject: 'x'.repeat(5000) });
  assert.equal(env.EWS_SUBJECT.length, MAX_ENV_VALUE_CHARS);
  assert.equal(env.EWS_SUBJECT.endsWith('x…'), true);
});

test('the child environment keeps the inherited one but drops our secrets and stale event variables', () => {
  const env = buildChildEnv(
    { PATH: '/usr/bin', HOME: '/home/a', EWS_PASSWORD: 'hunter2', EWS_ACCESS_TOKEN: 'eyJ', EWS_CLIENT_SECRET: 's', EWS_ITEM_ID: 'stale', EWS_URL: 'https://x/EWS', UNSET: undefined },
    { ...base, folderId: 'AQMk2' },
    ['Created', 'NewMail'],
  );
  assert.deepEqual(env, {
    PATH: '/usr/bin',
    HOME: '/home/a',
    EWS_URL: 'https://x/EWS',
    EWS_EVENT: 'NewMail',
    EWS_FOLDER_ID: 'AQMk2',
    EWS_MAILBOX: 'alice@contoso.com',
    EWS_SOURCE: 'stream',
    EWS_TIMESTAMP: '2013-09-16T04:31:29Z',
    EWS_EVENTS: 'Created,NewMail',
  });
});

test('folding: NewMail > Created > Moved > Copied > Modified > Deleted; the run carries the last event', () => {
  assert.equal(mostSignificant(['Modified', 'Created', 'NewMail']), 'NewMail');
  assert.equal(mostSignificant(['Deleted', 'Modified']), 'Modified');
  assert.equal(mostSignificant(['Copied', 'Moved']), 'Moved');
  assert.equal(mostSignificant(['Deleted', 'FreeBusyChanged']), 'Deleted');
  const ev = (event: string, changeKey: string) => ({ json: `{"event":"${event}","changeKey":"${changeKey}"}`, fields: { ...base, event, itemId: 'AAMk1' } });
  const run = foldEvents([ev('Created', 'ck1'), ev('NewMail', 'ck2'), ev('Modified', 'ck3')]);
  assert.deepEqual(run, {
    json: '{"event":"Modified","changeKey":"ck3"}',
    fields: { ...base, event: 'NewMail', itemId: 'AAMk1' },
    events: ['Created', 'NewMail', 'Modified'],
  });
});
