// Finding a DOMAIN\user's SMTP address (src/auth/find-mailbox.ts) with a scripted client: ConvertId first,
// ResolveNames of the account name then of DOMAIN\user, else a UsageError naming the user; which errors end the
// search and which only mean "not this way".
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuthError, EwsResponseError, ProtocolError, TransportError, UsageError } from '../../src/errors.js';
import { exampleAddress, findMailbox, namesToResolve } from '../../src/auth/find-mailbox.js';
import type { ConvertIdResult, NameCandidate, ResolveNamesResult } from '../../src/ews/identity.js';
import type { FolderResult } from '../../src/ews/items.js';
import type { IdentityClient } from '../../src/ews/client.js';

const ROOT: FolderResult = { ok: true, folderId: 'AQMkROOT' };
type Answer<T> = T | Error;

/** A client whose answers are given per call; it records every call in order. */
function fakeClient(o: { root?: Answer<FolderResult>; convert?: Answer<ConvertIdResult>; resolve?: Record<string, Answer<ResolveNamesResult>> }) {
  const calls: string[] = [];
  const give = async <T>(a: Answer<T> | undefined, what: string): Promise<T> => {
    if (a === undefined) throw new Error(`unexpected call: ${what}`);
    if (a instanceof Error) throw a;
    return a;
  };
  const client: IdentityClient = {
    rootFolder: () => (calls.push('GetFolder root'), give(o.root ?? ROOT, 'GetFolder')),
    convertId: (id, mailbox) => (calls.push(`ConvertId ${id} ${mailbox}`), give(o.convert, 'ConvertId')),
    resolveNames: (entry) => (calls.push(`ResolveNames ${entry}`), give(o.resolve?.[entry] ?? { ok: false, responseCode: 'ErrorNameResolutionNoResults', message: 'No results were found.' }, 'ResolveNames')),
  };
  return { client, calls };
}

const converted = (mailbox?: string): ConvertIdResult => ({ ok: true, format: 'EwsId', id: 'AQMkROOT', ...(mailbox ? { mailbox } : {}) });
const resolved = (...addresses: string[]): ResolveNamesResult => ({
  ok: true,
  multiple: addresses.length > 1,
  candidates: addresses.map((a): NameCandidate => ({ name: a.split('@')[0], address: a, routingType: 'SMTP', mailboxType: 'Mailbox' })),
});
const noSuchOperation = new EwsResponseError('ErrorInvalidRequest', 'ConvertId: ErrorInvalidRequest: This server does not implement ConvertId.');

async function find(client: IdentityClient, user = 'CONTOSO\\alice', host = 'mail.contoso.com') {
  const debug: string[] = [];
  const found = await findMailbox(client, user, { debug: (l) => debug.push(l), host });
  return { found, debug };
}

describe('findMailbox', () => {
  it('ConvertId of the root folder, with the placeholder mailbox: the answer names the mailbox', async () => {
    const { client, calls } = fakeClient({ convert: converted('Alice.Wilber@contoso.com') });
    const { found, debug } = await find(client);
    assert.deepEqual(found, { address: 'Alice.Wilber@contoso.com', how: 'ConvertId of the root folder' });
    assert.deepEqual(calls, ['GetFolder root', 'ConvertId AQMkROOT nobody@example.com']);
    assert.deepEqual(debug, []);
  });

  it('ConvertId refused (a fault) → ResolveNames of the account name', async () => {
    const { client, calls } = fakeClient({ convert: noSuchOperation, resolve: { alice: resolved('alice@contoso.com') } });
    const { found, debug } = await find(client);
    assert.deepEqual(found, { address: 'alice@contoso.com', how: 'ResolveNames of alice' });
    assert.deepEqual(calls, ['GetFolder root', 'ConvertId AQMkROOT nobody@example.com', 'ResolveNames alice']);
    assert.deepEqual(debug, ['mailbox: ConvertId gave no address: ConvertId: ErrorInvalidRequest: This server does not implement ConvertId.']);
  });

  it('no usable answer from ConvertId (an error message, no Mailbox, the placeholder echoed, junk) → ResolveNames', async () => {
    const cases: [Answer<ConvertIdResult>, RegExp][] = [
      [{ ok: false, responseCode: 'ErrorInvalidIdMalformed', message: 'Id is malformed.' }, /ErrorInvalidIdMalformed: "Id is malformed\."/],
      [converted(), /no Mailbox/],
      [converted('NOBODY@example.com'), /repeats the placeholder/],
      [converted('alice@contoso.com\u001b[2J'), /is not an SMTP address/],
      [new ProtocolError('the server\'s answer is not a SOAP envelope: "<html>"'), /not a SOAP envelope/],
      [new TransportError('ConvertId: HTTP 501 from the server', { status: 501 }), /HTTP 501/],
    ];
    for (const [convert, why] of cases) {
      const { client } = fakeClient({ convert, resolve: { alice: resolved('alice@contoso.com') } });
      const { found, debug } = await find(client);
      assert.equal(found.how, 'ResolveNames of alice');
      assert.match(debug[0] ?? '', why);
      assert.equal(debug.join('').includes('\u001b'), false, 'no control characters reach the terminal');
    }
  });

  it('GetFolder root failing is a ConvertId failure too', async () => {
    const { client, calls } = fakeClient({ root: { ok: false, responseCode: 'ErrorAccessDenied', message: 'Access is denied.' }, resolve: { alice: resolved('alice@contoso.com') } });
    const { found, debug } = await find(client);
    assert.equal(found.address, 'alice@contoso.com');
    assert.deepEqual(calls, ['GetFolder root', 'ResolveNames alice']);
    assert.match(debug[0]!, /GetFolder root: ErrorAccessDenied/);
  });

  it('ResolveNames of the account name finds nothing → of DOMAIN\\user; several candidates need an exact one', async () => {
    const { client, calls } = fakeClient({ convert: noSuchOperation, resolve: { 'CONTOSO\\alice': resolved('alice.jones@contoso.com', 'alice@contoso.com') } });
    const { found } = await find(client);
    assert.deepEqual(found, { address: 'alice@contoso.com', how: 'ResolveNames of CONTOSO\\alice' });
    assert.deepEqual(calls.slice(2), ['ResolveNames alice', 'ResolveNames CONTOSO\\alice']);
  });

  it('neither: a UsageError that names the user as given (no hard-coded alice) and asks for --mailbox', async () => {
    const { client, calls } = fakeClient({ convert: noSuchOperation, resolve: { bob: resolved('bob.smith@contoso.com', 'bob.jones@contoso.com') } });
    await assert.rejects(
      find(client, 'CONTOSO\\bob', '127.0.0.1'),
      (e: unknown) =>
        e instanceof UsageError &&
        e.message === 'cannot find the SMTP address of CONTOSO\\bob: the server answered neither ConvertId nor ResolveNames with it (-v says more); pass --mailbox bob@contoso.com or set EWS_MAILBOX',
    );
    assert.deepEqual(calls.slice(2), ['ResolveNames bob', 'ResolveNames CONTOSO\\bob']);
  });

  it('says for -v why each step gave nothing', async () => {
    const { client } = fakeClient({ convert: noSuchOperation, resolve: { bob: resolved('bob.smith@contoso.com', 'bob.jones@contoso.com') } });
    const debug: string[] = [];
    await assert.rejects(findMailbox(client, 'CONTOSO\\bob', { debug: (l) => debug.push(l) }), UsageError);
    assert.deepEqual(debug, [
      'mailbox: ConvertId gave no address: ConvertId: ErrorInvalidRequest: This server does not implement ConvertId.',
      'mailbox: ResolveNames of bob gave no address: 2 candidates and none is exactly bob',
      'mailbox: ResolveNames of CONTOSO\\bob gave no address: ErrorNameResolutionNoResults',
    ]);
  });

  it('refused credentials, a network failure, throttling and aborts end the search with their own error', async () => {
    const auth = new AuthError('GetFolder: the server rejected the credentials of CONTOSO\\alice (HTTP 401)', { status: 401 });
    const network = new TransportError('GetFolder to https://mail.contoso.com failed: connection refused');
    const busy = new EwsResponseError('ErrorServerBusy', 'ConvertId: ErrorServerBusy', { backOffMs: 5000 });
    const abort = Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
    for (const [root, convert] of [[auth, undefined], [network, undefined], [ROOT, busy], [abort, undefined]] as const) {
      const { client, calls } = fakeClient({ root, ...(convert ? { convert } : {}) });
      await assert.rejects(find(client), (e: unknown) => e === root || e === convert);
      assert.equal(calls.some((c) => c.startsWith('ResolveNames')), false);
    }
  });
});

describe('names and the example address', () => {
  it('namesToResolve: the account alone, then the whole DOMAIN\\user form; a bare name once', () => {
    assert.deepEqual(namesToResolve('CONTOSO\\alice'), ['alice', 'CONTOSO\\alice']);
    assert.deepEqual(namesToResolve('alice'), ['alice']);
    assert.deepEqual(namesToResolve(' bob '), ['bob']);
  });
  it('exampleAddress: the account at the mail domain of the URL, else at the NetBIOS domain', () => {
    assert.equal(exampleAddress('CONTOSO\\bob', 'mail.fabrikam.com'), 'bob@fabrikam.com');
    assert.equal(exampleAddress('CONTOSO\\bob', 'fabrikam.com'), 'bob@fabrikam.com');
    assert.equal(exampleAddress('CONTOSO\\Bob', '127.0.0.1'), 'bob@contoso.com');
    assert.equal(exampleAddress('CORP\\j.doe', 'localhost'), 'j.doe@corp.com');
    assert.equal(exampleAddress('bob', 'exchange01'), 'bob@contoso.com');
    assert.equal(exampleAddress('CONTOSO\\<x>', undefined), 'x@contoso.com');
  });
});
