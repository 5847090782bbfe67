// NTLM in the simulator: the message maths against MS-NLMP's worked example, bounds on hostile input, and the
// IIS-style connection-bound handshake on a real simulator, driven by @ewsjs/ntlm-client over one kept-alive socket.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { AV, NTLM_FLAG, buildChallenge, decodeToken, ntHash, parseAuthenticate, parseNegotiate, verifyNtlmV2 } from '../../src/simulator/ntlm.js';
import { textOf } from './helpers.js';
import { WORKSTATION, decodeType2Message, handshake, offers, oneSocketAgent, send, type1, type2Of, type3 } from './ntlm-client.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// MS-NLMP 4.2.4.3: the NTLMv2 AUTHENTICATE_MESSAGE of the worked example (User, Domain, COMPUTER, "Password").
const SPEC_AUTHENTICATE = hex(`
  4e 54 4c 4d 53 53 50 00 03 00 00 00 18 00 18 00 6c 00 00 00 54 00 54 00 84 00 00 00 0c 00 0c 00
  48 00 00 00 08 00 08 00 54 00 00 00 10 00 10 00 5c 00 00 00 10 00 10 00 d8 00 00 00 35 82 88 e2
  05 01 28 0a 00 00 00 0f 44 00 6f 00 6d 00 61 00 69 00 6e 00 55 00 73 00 65 00 72 00 43 00 4f 00
  4d 00 50 00 55 00 54 00 45 00 52 00 86 c3 50 97 ac 9c ec 10 25 54 76 4a 57 cc cc 19 aa aa aa aa
  aa aa aa aa 68 cd 0a b8 51 e5 1c 96 aa bc 92 7b eb ef 6a 1c 01 01 00 00 00 00 00 00 00 00 00 00
  00 00 00 00 aa aa aa aa aa aa aa aa 00 00 00 00 02 00 0c 00 44 00 6f 00 6d 00 61 00 69 00 6e 00
  01 00 0c 00 53 00 65 00 72 00 76 00 65 00 72 00 00 00 00 00 00 00 00 00 c5 da d2 54 4f c9 79 90
  94 ce 1c e9 0b c9 d0 3e`);
const SPEC_SERVER_CHALLENGE = hex('0123456789abcdef');

const IDENTITY = { domain: 'CONTOSO', computer: 'EXSIM01', dnsDomain: 'contoso.local', dnsComputer: 'EXSIM01.contoso.local' };

function avPairs(info: Buffer): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  for (let at = 0; at + 4 <= info.length; ) {
    const id = info.readUInt16LE(at);
    const length = info.readUInt16LE(at + 2);
    out.push([id, info.subarray(at + 4, at + 4 + length)]);
    at += 4 + length;
  }
  return out;
}

describe('NTLM messages', () => {
  test('MS-NLMP 4.2.4.3: the AUTHENTICATE parses and its NTLMv2 response verifies only with the right password and challenge', () => {
    const parsed = parseAuthenticate(SPEC_AUTHENTICATE);
    assert.ok(parsed.ok, !parsed.ok ? parsed.reason : '');
    const { user, domain, workstation, ntResponse, lmResponse, flags } = parsed.value;
    assert.deepEqual({ user, domain, workstation, nt: ntResponse.length, lm: lmResponse.length, flags }, { user: 'User', domain: 'Domain', workstation: 'COMPUTER', nt: 84, lm: 24, flags: 0xe2888235 });
    assert.equal(verifyNtlmV2(ntHash('Password'), user, domain, SPEC_SERVER_CHALLENGE, ntResponse), true);
    assert.equal(verifyNtlmV2(ntHash('Password'), 'user', domain, SPEC_SERVER_CHALLENGE, ntResponse), true, 'the user name is upper-cased');
    assert.equal(verifyNtlmV2(ntHash('password'), user, domain, SPEC_SERVER_CHALLENGE, ntResponse), false);
    assert.equal(verifyNtlmV2(ntHash('Password'), user, 'DOMAIN', SPEC_SERVER_CHALLENGE, ntResponse), false, 'the domain is used as sent');
    assert.equal(verifyNtlmV2(ntHash('Password'), user, domain, hex('0123456789abcdee'), ntResponse), false);
  });

  test('every truncation, and out-of-range or odd-length fields, are rejections, never exceptions', () => {
    for (let length = 0; length < 216; length++) {
      const result = parseAuthenticate(SPEC_AUTHENTICATE.subarray(0, length));
      assert.equal(result.ok, false, `prefix of ${length} bytes`);
    }
    const farOffset = Buffer.from(SPEC_AUTHENTICATE);
    farOffset.writeUInt32LE(0xffffffff, 24);
    assert.deepEqual(parseAuthenticate(farOffset), { ok: false, reason: 'authenticate message field out of bounds' });
    const hugeLength = Buffer.from(SPEC_AUTHENTICATE);
    hugeLength.writeUInt16LE(0xffff, 36);
    assert.deepEqual(parseAuthenticate(hugeLength), { ok: false, reason: 'authenticate message field out of bounds' });
    const oddName = Buffer.from(SPEC_AUTHENTICATE);
    oddName.writeUInt16LE(7, 36);
    assert.deepEqual(parseAuthenticate(oddName), { ok: false, reason: 'odd-length UTF-16 name' });
    const type1Bytes = decodeToken(type1().slice(5))!;
    assert.deepEqual(parseAuthenticate(type1Bytes), { ok: false, reason: 'not an NTLM authenticate message' });
    assert.deepEqual(parseNegotiate(type1Bytes.subarray(0, 14)), { ok: false, reason: 'negotiate message truncated' });
    assert.deepEqual(parseNegotiate(type1Bytes.subarray(0, 11)), { ok: false, reason: 'not an NTLM negotiate message' });
    assert.equal(decodeToken('TlRMTVNTUAAB!AAA'), undefined, 'not base64');
    assert.equal(decodeToken('TlRMTVNTUAABAAA'), undefined, 'not a whole base64 quantum');
  });

  test('CHALLENGE: flags, server challenge, target name and AV pairs, as an independent client reads them', () => {
    const challenge = hex('f00dfacecafebeef');
    const now = Date.UTC(2024, 4, 1, 9, 30, 0);
    const negotiateFlags = NTLM_FLAG.UNICODE | NTLM_FLAG.N128 | NTLM_FLAG.N56 | 0x10; /* SIGN: not echoed */
    const message = buildChallenge(IDENTITY, negotiateFlags, challenge, now);
    const decoded = decodeType2Message(`NTLM ${message.toString('base64')}`);
    const expected = 0x00000001 | 0x00000004 | 0x00000200 | 0x00008000 | 0x00010000 | 0x00080000 | 0x00800000 | 0x02000000 | 0x20000000 | 0x80000000;
    assert.equal(decoded.flags >>> 0, expected >>> 0);
    assert.equal(decoded.encoding, 'ucs2');
    assert.equal(decoded.version, 2, 'extended session security asks for NTLMv2-style responses');
    assert.equal(decoded.challenge.toString('hex'), 'f00dfacecafebeef');
    assert.equal(decoded.targetName, 'CONTOSO');
    assert.deepEqual(decoded.targetInfo?.parsed, { DOMAIN: 'CONTOSO', SERVER: 'EXSIM01', DNS: 'contoso.local', FQDN: 'EXSIM01.contoso.local' });
    const pairs = avPairs(decoded.targetInfo!.buffer);
    assert.deepEqual(pairs.map(([id]) => id), [AV.NB_DOMAIN, AV.NB_COMPUTER, AV.DNS_DOMAIN, AV.DNS_COMPUTER, AV.TIMESTAMP, AV.EOL]);
    // FILETIME: 100 ns ticks since 1601-01-01.
    assert.equal(pairs[4]![1].readBigUInt64LE(), (BigInt(now) + 11_644_473_600_000n) * 10_000n);
    assert.equal(pairs[5]![1].length, 0);
    assert.equal(buildChallenge(IDENTITY, NTLM_FLAG.UNICODE, challenge, now).readUInt32LE(20) & (NTLM_FLAG.N128 | NTLM_FLAG.N56), 0, '128/56 only when asked');
  });
});

describe('NTLM on the simulator (connection-bound, IIS style)', () => {
  let sim: Simulator;
  const password = 'Winter2024!';
  before(async () => {
    sim = await startSimulator({ password });
  });
  after(() => sim.close());

  test('UPN logon (empty domain): 401 with a CHALLENGE on a kept-alive socket, then 200 and a Subscribe on the same socket', async () => {
    const agent = oneSocketAgent(sim);
    try {
      const logins = sim.ntlm.logins.length;
      const { challenge, result } = await handshake(sim, agent, 'alice@contoso.com', password, '');
      assert.equal(challenge.status, 401);
      assert.deepEqual(offers(challenge).length, 1, 'only the CHALLENGE, not the usual offers');
      assert.equal(type2Of(challenge).targetName, 'CONTOSO');
      assert.notEqual(challenge.headers.connection, 'close');
      assert.equal(challenge.headers['content-length'], '0');
      assert.equal(result.status, 200, result.body);
      assert.equal(result.localPort, challenge.localPort, 'both legs on one socket');
      assert.equal(textOf(result.body, 'ResponseCode'), 'NoError');
      assert.ok(textOf(result.body, 'SubscriptionId'));
      assert.equal(sim.ntlm.logins.length, logins + 1);
      const login = sim.ntlm.logins.at(-1)!;
      assert.deepEqual({ user: login.user, domain: login.domain, workstation: login.workstation, remotePort: login.remotePort }, { user: 'alice@contoso.com', domain: '', workstation: WORKSTATION, remotePort: result.localPort });
      const recorded = sim.requests.slice(-2);
      assert.deepEqual(recorded.map((r) => [r.operation, r.headers.authorization?.slice(0, 5)]), [['Subscribe', 'NTLM '], ['Subscribe', 'NTLM ']]);
    } finally {
      agent.destroy();
    }
  });

  test('CONTOSO\\alice logon, names case-insensitive; the socket stays logged on, a new socket does not', async () => {
    const agent = oneSocketAgent(sim);
    const other = oneSocketAgent(sim);
    try {
      const { result } = await handshake(sim, agent, 'ALICE', password, 'contoso');
      assert.equal(result.status, 200, result.body);
      assert.deepEqual([sim.ntlm.logins.at(-1)!.user, sim.ntlm.logins.at(-1)!.domain], ['ALICE', 'contoso']);
      const logins = sim.ntlm.logins.length;
      const again = await send(sim, agent);
      assert.equal(again.status, 200, 'no Authorization, same socket: still logged on');
      assert.equal(again.localPort, result.localPort);
      assert.equal(textOf(again.body, 'ResponseCode'), 'NoError');
      assert.equal(sim.ntlm.logins.length, logins, 'no second handshake');
      const fresh = await send(sim, other);
      assert.equal(fresh.status, 401);
      assert.notEqual(fresh.localPort, result.localPort);
      assert.deepEqual(offers(fresh), ['Negotiate', 'NTLM', 'Basic realm="127.0.0.1"']);
    } finally {
      agent.destroy();
      other.destroy();
    }
  });

  test('wrong password: 401 with the usual offers, recorded as a rejection; the socket is not logged on', async () => {
    const agent = oneSocketAgent(sim);
    try {
      const rejected = sim.ntlm.rejections.length;
      const logins = sim.ntlm.logins.length;
      const { result } = await handshake(sim, agent, 'alice', 'winter2024!', 'CONTOSO');
      assert.equal(result.status, 401);
      assert.deepEqual(offers(result), ['Negotiate', 'NTLM', 'Basic realm="127.0.0.1"']);
      assert.equal(sim.ntlm.rejections.length, rejected + 1);
      const last = sim.ntlm.rejections.at(-1)!;
      assert.deepEqual({ reason: last.reason, user: last.user, domain: last.domain, remotePort: last.remotePort }, { reason: 'wrong password', user: 'alice', domain: 'CONTOSO', remotePort: result.localPort });
      assert.equal(sim.ntlm.logins.length, logins);
      assert.equal((await send(sim, agent)).status, 401);
      const unknown = await handshake(sim, agent, 'bob', password, 'CONTOSO');
      assert.equal(unknown.result.status, 401);
      assert.equal(sim.ntlm.rejections.at(-1)!.reason, 'unknown account');
    } finally {
      agent.destroy();
    }
  });

  test('a handshake split across connections fails; the CHALLENGE stays with the socket it was sent on', async () => {
    const first = oneSocketAgent(sim);
    const second = oneSocketAgent(sim);
    try {
      const challenge = await send(sim, first, { authorization: type1() });
      assert.equal(challenge.status, 401);
      const authenticate = type3(type2Of(challenge), 'alice@contoso.com', password, '');
      const elsewhere = await send(sim, second, { authorization: authenticate });
      assert.equal(elsewhere.status, 401);
      assert.notEqual(elsewhere.localPort, challenge.localPort);
      assert.deepEqual(offers(elsewhere), ['Negotiate', 'NTLM', 'Basic realm="127.0.0.1"']);
      assert.equal(sim.ntlm.rejections.at(-1)!.reason, 'no NTLM challenge pending on this connection');
      const home = await send(sim, first, { authorization: authenticate });
      assert.equal(home.status, 200, 'the first socket still holds its challenge');
      const replay = await send(sim, first, { authorization: authenticate });
      assert.equal(replay.status, 401, 'a challenge answers one AUTHENTICATE only');
    } finally {
      first.destroy();
      second.destroy();
    }
  });

  test('a new NEGOTIATE on a logged-on socket restarts the handshake and drops the logon', async () => {
    const agent = oneSocketAgent(sim);
    try {
      const { result } = await handshake(sim, agent, 'alice@contoso.com', password, '');
      assert.equal(result.status, 200);
      const restart = await send(sim, agent, { authorization: type1() });
      assert.equal(restart.status, 401);
      assert.equal(restart.localPort, result.localPort);
      assert.ok(type2Of(restart).challenge.length === 8);
      assert.equal((await send(sim, agent)).status, 401, 'no longer logged on');
    } finally {
      agent.destroy();
    }
  });

  test('malformed AUTHENTICATE tokens are 401s with reasons and the server keeps serving', async () => {
    const cases: [string, (good: string) => string, string][] = [
      ['truncated', (good) => good.slice(0, 60), 'authenticate message truncated'],
      ['cut mid-quantum', (good) => good.slice(0, 61), 'not an NTLM message'],
      ['not base64', () => '%%%%', 'not an NTLM message'],
      ['offset out of range', (good) => {
        const bytes = Buffer.from(good, 'base64');
        bytes.writeUInt32LE(0x7fffffff, 40);
        return bytes.toString('base64');
      }, 'authenticate message field out of bounds'],
      ['a CHALLENGE sent back', () => buildChallenge(IDENTITY, 0, hex('0000000000000000'), 0).toString('base64'), 'unexpected NTLM message type 2'],
    ];
    for (const [name, mangle, reason] of cases) {
      const agent = oneSocketAgent(sim);
      try {
        const challenge = await send(sim, agent, { authorization: type1() });
        const good = type3(type2Of(challenge), 'alice@contoso.com', password, '').slice(5);
        const bad = await send(sim, agent, { authorization: `NTLM ${mangle(good)}` });
        assert.equal(bad.status, 401, name);
        assert.equal(sim.ntlm.rejections.at(-1)!.reason, reason, name);
      } finally {
        agent.destroy();
      }
    }
    const agent = oneSocketAgent(sim);
    try {
      assert.equal((await handshake(sim, agent, 'alice@contoso.com', password, '')).result.status, 200, 'a new connection still logs on');
    } finally {
      agent.destroy();
    }
  });

  test('NTLMv1-sized and LM-only answers are refused', async () => {
    for (const [ntLength, reason] of [[24, 'NTLMv1 response refused'], [0, 'no NT response (LM only or anonymous)']] as const) {
      const agent = oneSocketAgent(sim);
      try {
        const challenge = await send(sim, agent, { authorization: type1() });
        // The client library's own NTLMv1 path is broken (des.js key length), so shorten a correct answer's NT field.
        const message = Buffer.from(type3(type2Of(challenge), 'alice@contoso.com', password, '').slice(5), 'base64');
        message.writeUInt16LE(ntLength, 20);
        message.writeUInt16LE(ntLength, 22);
        const answer = await send(sim, agent, { authorization: `NTLM ${message.toString('base64')}` });
        assert.equal(answer.status, 401);
        assert.deepEqual([sim.ntlm.rejections.at(-1)!.reason, sim.ntlm.rejections.at(-1)!.user], [reason, 'alice@contoso.com']);
      } finally {
        agent.destroy();
      }
    }
  });

  test('raw NTLMSSP under Negotiate is answered under Negotiate', async () => {
    const agent = oneSocketAgent(sim);
    try {
      const challenge = await send(sim, agent, { authorization: type1().replace(/^NTLM /, 'Negotiate ') });
      assert.match(String(challenge.headers['www-authenticate']), /^Negotiate TlRMTVNTUAACAAAA/);
      const authenticate = type3(type2Of(challenge), 'alice@contoso.com', password, '').replace(/^NTLM /, 'Negotiate ');
      assert.equal((await send(sim, agent, { authorization: authenticate })).status, 200);
    } finally {
      agent.destroy();
    }
  });

  test('a queued script is consumed by the authenticated request, not by the handshake', async () => {
    const agent = oneSocketAgent(sim);
    try {
      sim.script('Subscribe', { fault: 'ErrorServerBusy', backOffMs: 1000 });
      const challenge = await send(sim, agent, { authorization: type1() });
      assert.equal(challenge.status, 401);
      assert.equal(sim.pendingScripts('Subscribe'), 1);
      const result = await send(sim, agent, { authorization: type3(type2Of(challenge), 'alice@contoso.com', password, '') });
      assert.equal(result.status, 500);
      assert.equal(textOf(result.body, 'ResponseCode'), 'ErrorServerBusy');
      assert.equal(sim.pendingScripts('Subscribe'), 0);
    } finally {
      agent.destroy();
    }
  });

  test('Basic accepts the UPN and CONTOSO\\alice with the same password', async () => {
    const agent = oneSocketAgent(sim);
    try {
      const basic = (user: string, pw: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}` });
      assert.equal((await send(sim, agent, basic('alice@contoso.com', password))).status, 200);
      assert.equal((await send(sim, agent, basic('CONTOSO\\Alice', password))).status, 200);
      assert.equal((await send(sim, agent, basic('FABRIKAM\\alice', password))).status, 401);
      assert.equal((await send(sim, agent, basic('alice', password))).status, 401, 'a bare name is not the UPN');
      assert.equal((await send(sim, agent)).status, 401, 'Basic does not log the socket on');
    } finally {
      agent.destroy();
    }
  });
});

describe('NTLM and Basic switched on and off', () => {
  const password = 'S3cret!';
  let basicOnly: Simulator;
  let ntlmOnly: Simulator;
  before(async () => {
    basicOnly = await startSimulator({ password, auth: { ntlm: false } });
    ntlmOnly = await startSimulator({ password, auth: { basic: false }, domain: 'FABRIKAM', user: 'carol@fabrikam.com' });
  });
  after(() => Promise.all([basicOnly.close(), ntlmOnly.close()]));

  test('Basic-only: offers Basic alone and answers a NEGOTIATE without a CHALLENGE', async () => {
    const agent = oneSocketAgent(basicOnly);
    try {
      const challenge = await send(basicOnly, agent, { authorization: type1() });
      assert.equal(challenge.status, 401);
      assert.deepEqual(offers(challenge), ['Basic realm="127.0.0.1"']);
      assert.equal(basicOnly.ntlm.rejections.length, 0, 'not even looked at as NTLM');
      const basic = `Basic ${Buffer.from(`alice@contoso.com:${password}`).toString('base64')}`;
      assert.equal((await send(basicOnly, agent, { authorization: basic })).status, 200);
    } finally {
      agent.destroy();
    }
  });

  test('NTLM-only: offers Negotiate and NTLM, refuses Basic, accepts FABRIKAM\\carol over NTLM', async () => {
    const agent = oneSocketAgent(ntlmOnly);
    try {
      assert.equal(ntlmOnly.ntlm.domain, 'FABRIKAM');
      const basic = await send(ntlmOnly, agent, { authorization: `Basic ${Buffer.from(`carol@fabrikam.com:${password}`).toString('base64')}` });
      assert.equal(basic.status, 401);
      assert.deepEqual(offers(basic), ['Negotiate', 'NTLM']);
      const { challenge, result } = await handshake(ntlmOnly, agent, 'carol', password, 'FABRIKAM');
      assert.equal(type2Of(challenge).targetName, 'FABRIKAM');
      assert.equal(result.status, 200, result.body);
      assert.equal((await handshake(ntlmOnly, agent, 'carol', password, 'CONTOSO')).result.status, 401, 'another domain');
    } finally {
      agent.destroy();
    }
  });
});
