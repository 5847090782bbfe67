import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeVersion, runCheck, suggestionFor } from '../../src/cli/check.js';
import { AuthError, EwsResponseError, ProtocolError, TransportError, UsageError } from '../../src/errors.js';
import type { CheckRow } from '../../src/cli/check.js';
import type { WatchClient } from '../../src/ews/client.js';

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
    assert.match(out, /FAIL  sign-in and Subscribe: rejected \(HTTP 401\)\n {6}try: check the user name/);
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
  it('prints only the version parts the server reported, never "?"', () => {
    // gromox 2.17 sends the four numbers and no Version attribute (ews-samples: gromox217-subscribe-response.xml).
    assert.equal(describeVersion({ majorVersion: 15, minorVersion: 0, majorBuildNumber: 847, minorBuildNumber: 4040 }), 'Exchange 15.0.847.4040, Exchange 2013');
    assert.equal(describeVersion({ majorVersion: 15, minorVersion: 1, minorBuildNumber: 6 }), 'Exchange 15.1, Exchange 2016');
    assert.equal(describeVersion({ version: 'V2017_07_11' }), 'schema V2017_07_11');
    assert.equal(describeVersion({}), 'version not reported (ServerVersionInfo is empty)');
  });
  it('every FAIL names the step once (no "Subscribe: Subscribe:") and is followed by a try: line', async () => {
    const cases: { on: 'subscribe' | 'unsubscribe'; error: Error; step: string; message: string; tip: RegExp }[] = [
      {
        on: 'subscribe',
        error: new TransportError('Subscribe: the server answered with an HTML page (title: "Outlook"), not EWS; check --url', { status: 200, notEws: true }),
        step: 'sign-in and Subscribe',
        message: 'the server answered with an HTML page (title: "Outlook"), not EWS; check --url',
        tip: /point --url at the EWS endpoint itself/,
      },
      {
        on: 'subscribe',
        error: new TransportError('Subscribe: the server redirected to the Outlook on the web sign-in page', { status: 302, location: 'https://h/owa/auth/logon.aspx' }),
        step: 'sign-in and Subscribe',
        message: 'the server redirected to the Outlook on the web sign-in page',
        tip: /not the Outlook on the web address/,
      },
      { on: 'subscribe', error: new TransportError('Subscribe: HTTP 503 from the server', { status: 503, backOffMs: 120_000 }), step: 'sign-in and Subscribe', message: 'HTTP 503 from the server', tip: /failing or busy: try again later \(it asked to wait 120 s\)/ },
      {
        on: 'subscribe',
        error: new TransportError('Subscribe: https://h accepted the connection but sent no answer within 120 s', { cause: Object.assign(new Error('t'), { code: 'UND_ERR_HEADERS_TIMEOUT' }) }),
        step: 'sign-in and Subscribe',
        message: 'https://h accepted the connection but sent no answer within 120 s',
        tip: /never answered/,
      },
      {
        on: 'subscribe',
        error: new TransportError('Subscribe: cannot reach http://127.0.0.1:9: connection refused', { cause: Object.assign(new Error('r'), { code: 'ECONNREFUSED' }) }),
        step: 'sign-in and Subscribe',
        message: 'cannot reach http://127.0.0.1:9: connection refused',
        tip: /nothing accepts connections there/,
      },
      { on: 'subscribe', error: new TransportError('Subscribe: x', { cause: Object.assign(new Error('tls'), { code: 'ERR_SSL_WRONG_VERSION_NUMBER' }) }), step: 'sign-in and Subscribe', message: 'x', tip: /scheme in --url/ },
      { on: 'subscribe', error: new ProtocolError("the server's answer is not a SOAP envelope"), step: 'sign-in and Subscribe', message: "the server's answer is not a SOAP envelope", tip: /-v/ },
      { on: 'subscribe', error: new EwsResponseError('ErrorSomethingNew', 'Subscribe: ErrorSomethingNew: eh'), step: 'sign-in and Subscribe', message: 'ErrorSomethingNew: eh', tip: /ResponseCode reference/ },
      { on: 'unsubscribe', error: new EwsResponseError('ErrorServerBusy', 'Unsubscribe: ErrorServerBusy: busy'), step: 'Unsubscribe', message: 'ErrorServerBusy: busy', tip: /.+/ },
      { on: 'subscribe', error: new Error('something odd'), step: 'sign-in and Subscribe', message: 'something odd', tip: /run again with -v/ },
    ];
    for (const c of cases) {
      const { code, out } = await check(fakeClient({ on: c.on, error: c.error }));
      assert.equal(code, 1, c.message);
      const lines = out.split('\n');
      const fail = lines.findIndex((l) => l.startsWith('FAIL'));
      assert.equal(lines[fail], `FAIL  ${c.step}: ${c.message}`);
      assert.match(lines[fail + 1], /^ {6}try: /);
      assert.match(lines[fail + 1], c.tip);
      assert.doesNotMatch(out, /(\w+): \1:/, 'no doubled prefix');
    }
  });
  it('an Unsubscribe the server answered ErrorSubscriptionNotFound is ok, and says so', async () => {
    const client = fakeClient();
    client.unsubscribe = async () => 'already-gone';
    const { code, out } = await check(client);
    assert.equal(code, 0);
    assert.match(out, /\nok {4}Unsubscribe: 7 ms \(the subscription was already gone: ErrorSubscriptionNotFound\)\n/);
  });
});
