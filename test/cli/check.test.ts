import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeVersion, runCheck, suggestionFor } from '../../src/cli/check.js';
import { AuthError, EwsResponseError, TransportError, UsageError } from '../../src/errors.js';
import type { CheckRow } from '../../src/cli/check.js';
import type { WatchClient } from '../../src/watch/client.js';

function fakeClient(fail?: { on: 'subscribe' | 'unsubscribe'; error: Error }): WatchClient & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async subscribe() {
      calls.push('subscribe');
      if (fail?.on === 'subscribe') throw fail.error;
      return 'SUB1';
    },
    async unsubscribe(id) {
      calls.push(`unsubscribe ${id}`);
      if (fail?.on === 'unsubscribe') throw fail.error;
    },
    async openStream() {
      throw new Error('check never streams');
    },
  };
}

async function check(client: WatchClient, findMailbox?: () => Promise<CheckRow>): Promise<{ code: number; out: string }> {
  let t = 1000;
  let out = '';
  const code = await runCheck({
    client,
    write: (l) => (out += l),
    now: () => (t += 7),
    ...(findMailbox ? { findMailbox } : {}),
    configuration: [
      { name: 'url', value: 'https://mail.contoso.com/EWS/Exchange.asmx', source: 'env' },
      ...(findMailbox ? [{ name: 'mailbox', value: '?', source: 'to be found after sign-in' }] : []),
      { name: 'password', value: 'set', source: 'keychain' },
    ],
    folderLabel: 'inbox',
    scheme: () => 'NTLM',
    serverVersion: () => ({ majorVersion: 15, minorVersion: 1, majorBuildNumber: 2507, minorBuildNumber: 6, version: 'V2017_07_11' }),
  });
  return { code, out };
}

describe('check', () => {
  it('subscribes, unsubscribes the same id, and reports scheme, times and version', async () => {
    const client = fakeClient();
    const { code, out } = await check(client);
    assert.equal(code, 0);
    assert.deepEqual(client.calls, ['subscribe', 'unsubscribe SUB1']);
    assert.equal(
      out,
      [
        'configuration',
        '  url       https://mail.contoso.com/EWS/Exchange.asmx  (env)',
        '  password  set  (keychain)',
        'ok    signed in with NTLM',
        'ok    Subscribe to inbox: 7 ms',
        'ok    Unsubscribe: 7 ms',
        'server Exchange 15.1.2507.6 (schema V2017_07_11), Exchange 2016',
        'all checks passed: `ews-watch` with the same settings will stream events',
        '',
      ].join('\n'),
    );
  });
  it('a wrong password exits 4 with what to try', async () => {
    const { code, out } = await check(fakeClient({ on: 'subscribe', error: new AuthError('Subscribe: rejected (HTTP 401)', { status: 401 }) }));
    assert.equal(code, 4);
    assert.match(out, /FAIL  sign-in and Subscribe: Subscribe: rejected \(HTTP 401\)\n {6}try: check the user name/);
  });
  it('a fatal EWS code exits 1 with its hint', async () => {
    const { code, out } = await check(fakeClient({ on: 'subscribe', error: new EwsResponseError('ErrorNonExistentMailbox', 'no such mailbox') }));
    assert.equal(code, 1);
    assert.match(out, /try: No mailbox has this SMTP address/);
  });
  it('a DOMAIN\\user: the mailbox is found first and its row says how, before anything else is printed', async () => {
    const client = fakeClient();
    const { code, out } = await check(client, async () => {
      client.calls.push('find');
      return { name: 'mailbox', value: 'alice@contoso.com', source: 'found with ConvertId of the root folder' };
    });
    assert.equal(code, 0);
    assert.deepEqual(client.calls, ['find', 'subscribe', 'unsubscribe SUB1']);
    assert.match(out, /^configuration\n {2}url {7}\S+ {2}\(env\)\n {2}mailbox {3}alice@contoso\.com {2}\(found with ConvertId of the root folder\)\n {2}password/);
  });
  it('a mailbox that cannot be found: the table as configured, one FAIL line, exit 2, no Subscribe', async () => {
    const client = fakeClient();
    const { code, out } = await check(client, async () => {
      throw new UsageError('cannot find the SMTP address of CONTOSO\\bob: the server answered neither ConvertId nor ResolveNames with it (-v says more); pass --mailbox bob@contoso.com or set EWS_MAILBOX');
    });
    assert.equal(code, 2);
    assert.deepEqual(client.calls, []);
    assert.match(out, /\n {2}mailbox {3}\? {2}\(to be found after sign-in\)\n/);
    assert.deepEqual(out.split('\n').filter((l) => l.startsWith('FAIL')), ['FAIL  sign-in and finding the mailbox: cannot find the SMTP address of CONTOSO\\bob: the server answered neither ConvertId nor ResolveNames with it (-v says more); pass --mailbox bob@contoso.com or set EWS_MAILBOX']);
  });
  it('suggestions for transport failures', () => {
    assert.match(suggestionFor(new TransportError('x', { cause: Object.assign(new Error('c'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }) })) ?? '', /--ca-file/);
    assert.match(suggestionFor(new TransportError('x', { status: 404 })) ?? '', /EWS\/Exchange\.asmx/);
    assert.match(suggestionFor(new AuthError('x', { status: 403 })) ?? '', /EwsAllowedAppIDs/);
  });
  it('names the product from the version', () => {
    assert.equal(describeVersion({ majorVersion: 15, minorVersion: 20, majorBuildNumber: 8769, minorBuildNumber: 35, version: 'V2018_01_08' }), 'Exchange 15.20.8769.35 (schema V2018_01_08), Exchange Online');
    assert.equal(describeVersion(undefined), 'version not reported (no ServerVersionInfo in the answer)');
  });
});
