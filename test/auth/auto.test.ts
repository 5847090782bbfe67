// --auth auto's choice (src/auth/auto.ts) from the WWW-Authenticate offers of a 401, the NTLM user split and
// challenge parsing (src/auth/ntlm.ts), and the configuration rules for ntlm/auto/--ca-file (src/cli/config.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAutoAuth, offeredSchemes } from '../../src/auth/auto.js';
import { createNtlmAuth, ntlmChallengeOf, splitNtlmUser } from '../../src/auth/ntlm.js';
import { resolveConnection as resolveConnectionFrom, type ConnectionSettings, type RawOptions } from '../../src/cli/config.js';
import { AuthError, UsageError } from '../../src/errors.js';
import { createLookup, type Env } from '../../src/cli/precedence.js';

/** The connection from flags, the environment and .env, as a command resolves it (through precedence.ts). */
const resolveConnection = (raw: RawOptions, env: Env, dotenv: Env = {}): ConnectionSettings => resolveConnectionFrom(raw, createLookup({ env, dotenv })) as ConnectionSettings;

const HTTPS = new URL('https://mail.contoso.com/EWS/Exchange.asmx');
const PLAIN = new URL('http://mail.contoso.com/EWS/Exchange.asmx');

describe('offeredSchemes', () => {
  it('reads one header per scheme, as IIS sends them', () => {
    assert.deepEqual(offeredSchemes(['Negotiate', 'NTLM', 'Basic realm="mail.contoso.com"']), ['Negotiate', 'NTLM', 'Basic']);
  });
  it('reads a comma-joined header and skips parameters, also with commas inside quotes-free params', () => {
    assert.deepEqual(offeredSchemes('Bearer authorization_uri="https://login.microsoftonline.com/common", Basic realm="x", NTLM'), ['Bearer', 'Basic', 'NTLM']);
  });
  it('ignores an NTLM challenge blob and duplicates', () => {
    assert.deepEqual(offeredSchemes(['NTLM TlRMTVNTUAACAAAA', 'ntlm']), ['NTLM']);
  });
  it('is empty without a header', () => {
    assert.deepEqual(offeredSchemes(undefined), []);
  });
});

describe('createAutoAuth().choose', () => {
  const auto = createAutoAuth('CONTOSO\\alice', 'Pa55word!');
  it('prefers NTLM over Basic and says why', async () => {
    const { provider, why } = await auto.choose!(['Negotiate', 'NTLM', 'Basic'], PLAIN);
    assert.equal(provider.scheme, 'ntlm');
    assert.match(why, /offers Negotiate, NTLM, Basic; using NTLM/);
  });
  it('takes Basic over https when NTLM is not offered', async () => {
    assert.equal((await auto.choose!(['Basic'], HTTPS)).provider.scheme, 'basic');
  });
  it('takes Basic to a loopback address over plain http', async () => {
    assert.equal((await auto.choose!(['Basic'], new URL('http://127.0.0.1:8080/EWS/Exchange.asmx'))).provider.scheme, 'basic');
  });
  it('refuses Basic over plain http to another host', async () => {
    await assert.rejects(async () => auto.choose!(['Basic'], PLAIN), (e: unknown) => e instanceof AuthError && /in the clear; use an https URL/.test(e.message));
  });
  it('points a Bearer-only server at --auth oauth', async () => {
    await assert.rejects(async () => auto.choose!(['Bearer'], HTTPS), /use --auth oauth/);
  });
  it('says Kerberos-only servers need NTLM or Basic enabled', async () => {
    await assert.rejects(async () => auto.choose!(['Negotiate'], HTTPS), /Kerberos.*enable NTLM or Basic/);
  });
  it('the password is a secret of the provider', () => {
    assert.deepEqual(auto.secrets, ['Pa55word!']);
  });
});

describe('NTLM helpers', () => {
  it('splits DOMAIN\\user and keeps a UPN whole', () => {
    assert.deepEqual(splitNtlmUser('CONTOSO\\alice'), { domain: 'CONTOSO', user: 'alice' });
    assert.deepEqual(splitNtlmUser('alice@contoso.com'), { domain: '', user: 'alice@contoso.com' });
  });
  it('finds the challenge among several offers', () => {
    assert.equal(ntlmChallengeOf(['Negotiate', 'NTLM TlRMTVNTUAACAAAAAAA=']), 'TlRMTVNTUAACAAAAAAA=');
    assert.equal(ntlmChallengeOf('NTLM'), undefined);
  });
  it('type 1 is an NTLMSSP negotiate message carrying the domain', async () => {
    const t1 = (await createNtlmAuth('CONTOSO\\alice', 'x')).handshake!.negotiate();
    const bytes = Buffer.from(t1.replace(/^NTLM /, ''), 'base64');
    assert.equal(bytes.subarray(0, 8).toString('latin1'), 'NTLMSSP\0');
    assert.equal(bytes.readUInt32LE(8), 1);
    assert.ok(bytes.includes(Buffer.from('CONTOSO')));
  });
  it('refuses a 401 without a challenge, and garbage', async () => {
    const hs = (await createNtlmAuth('alice@contoso.com', 'x')).handshake!;
    assert.throws(() => hs.authenticate(['Negotiate', 'NTLM']), /without an NTLM challenge/);
    assert.throws(() => hs.authenticate('NTLM AAAA'), /cannot be read/);
  });
  it('refuses an NTLMv1-only challenge (no extended session security, no target info)', async () => {
    // A minimal type 2: signature, type 2, empty target name, flags = UNICODE|NTLM only, 8-byte challenge.
    const t2 = Buffer.alloc(48);
    t2.write('NTLMSSP\0', 0, 'latin1');
    t2.writeUInt32LE(2, 8);
    t2.writeUInt32LE(48, 16);
    t2.writeUInt32LE(0x00000201, 20);
    Buffer.from('0123456789abcdef', 'hex').copy(t2, 24);
    const hs = (await createNtlmAuth('alice@contoso.com', 'x')).handshake!;
    assert.throws(() => hs.authenticate(`NTLM ${t2.toString('base64')}`), /NTLMv1, which ews-watch refuses/);
  });
});

describe('configuration for ntlm, auto and TLS', () => {
  const base = { url: 'http://mail.contoso.com/EWS/Exchange.asmx', user: 'CONTOSO\\alice', mailbox: 'alice@contoso.com' };
  it('auto is the default and is allowed over plain http (it refuses Basic later if that is all there is)', () => {
    const c = resolveConnection(base, {}, {});
    assert.equal(c.auth, 'auto');
    assert.equal(c.insecure, false);
  });
  it('ntlm is accepted with a DOMAIN\\user name', () => {
    assert.equal(resolveConnection({ ...base, auth: 'NTLM' }, {}, {}).auth, 'ntlm');
  });
  it('ntlm and auto need a user name', () => {
    assert.throws(() => resolveConnection({ url: base.url, mailbox: base.mailbox, auth: 'ntlm' }, {}, {}), (e: unknown) => e instanceof UsageError && /no user name/.test(e.message));
  });
  it('EWS_CA_FILE is read from the environment, and --ca-file beats it', () => {
    const https = { ...base, url: 'https://mail.contoso.com/EWS/Exchange.asmx' };
    assert.equal(resolveConnection(https, { EWS_CA_FILE: '/etc/ca.pem' }, {}).caFile, '/etc/ca.pem');
    const c = resolveConnection({ ...https, caFile: '/tmp/other.pem' }, { EWS_CA_FILE: '/etc/ca.pem' }, {});
    assert.equal(c.caFile, '/tmp/other.pem');
    assert.equal(c.sources.caFile, 'flag');
  });
  it('--ca-file with a plain http URL is a usage error', () => {
    assert.throws(() => resolveConnection({ ...base, caFile: '/etc/ca.pem' }, {}, {}), /applies to https URLs only/);
  });
});
