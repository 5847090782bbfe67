// The transport registers every credential it sends for redaction, the moment it sends it, however the scheme was
// chosen: --auth auto choosing Basic or NTLM, and bearer tokens. Against the simulator, in-process.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAutoAuth } from '../../src/auth/auto.js';
import { createTokenAuth } from '../../src/auth/token.js';
import type { AuthProvider } from '../../src/auth/types.js';
import { buildSubscribe } from '../../src/ews/requests.js';
import { startSimulator } from '../../src/simulator/index.js';
import type { Simulator, SimulatorOptions } from '../../src/simulator/types.js';
import { createLogger, type Logger } from '../../src/term/logger.js';
import { createEwsHttp } from '../../src/transport/http.js';

const subscribeBody = buildSubscribe({ serverVersion: 'Exchange2013_SP1' }, { kind: 'folders', folders: [{ kind: 'distinguished', name: 'inbox' }] }, ['NewMail']);

/** Two Subscribes (the second replays the cookies the first set) through a fresh transport and logger. */
async function sendTwice(opts: SimulatorOptions, auth: (sim: Simulator) => AuthProvider): Promise<{ sim: Simulator; logger: Logger; close: () => Promise<void> }> {
  const sim = await startSimulator({ heartbeatMs: 60_000, ...opts });
  const logger = createLogger(() => undefined, 0);
  const http = createEwsHttp({ url: new URL(sim.url), auth: auth(sim), anchorMailbox: sim.mailboxAddress, logger, now: Date.now });
  const close = async (): Promise<void> => {
    await http.close();
    await sim.close();
  };
  try {
    for (let i = 0; i < 2; i++) assert.equal((await http.post(subscribeBody, { operation: 'Subscribe' })).status, 200);
  } catch (err) {
    await close();
    throw err;
  }
  return { sim, logger, close };
}

/** Every Authorization token and cookie value the server saw. */
function sent(sim: Simulator): { tokens: string[]; cookies: string[] } {
  const tokens = sim.requests.flatMap((q) => (q.headers.authorization ? [q.headers.authorization.replace(/^\S+\s+/, '')] : []));
  const cookies = sim.requests.flatMap((q) => (q.headers.cookie ?? '').split(';').flatMap((p) => (p.includes('=') ? [p.slice(p.indexOf('=') + 1).trim()] : [])));
  return { tokens, cookies };
}

describe('the transport registers what it sends', () => {
  it('--auth auto choosing Basic: its base64, user:password, the password and the cookies', async () => {
    const { sim, logger, close } = await sendTwice({ auth: { ntlm: false } }, (s) => createAutoAuth(s.credentials.user, s.credentials.password));
    try {
      const { tokens, cookies } = sent(sim);
      assert.equal(tokens.length, 2, 'the first try went without credentials');
      assert.equal(cookies.length, 2);
      const pair = Buffer.from(tokens[0]!, 'base64').toString('utf8');
      for (const secret of [tokens[0]!, tokens[0]!.slice(0, 20), pair, pair.slice(pair.indexOf(':') + 1), ...cookies]) {
        assert.equal(logger.redact(`said: ${secret}`), 'said: [redacted]', secret.slice(0, 6));
      }
      assert.equal(logger.redact(`mailbox ${sim.mailboxAddress}`), `mailbox ${sim.mailboxAddress}`);
    } finally {
      await close();
    }
  });

  it('--auth auto choosing NTLM: the NTLM negotiate and authenticate messages, and pieces of them', async () => {
    const { sim, logger, close } = await sendTwice({}, (s) => createAutoAuth(s.credentials.user, s.credentials.password));
    try {
      const { tokens } = sent(sim);
      assert.equal(tokens.length, 2, 'one handshake: negotiate, then authenticate');
      const type3 = tokens[1]!;
      for (const secret of [...tokens, type3.slice(40, 60), type3.slice(0, 30)]) assert.equal(logger.redact(`x ${secret}`), 'x [redacted]');
    } finally {
      await close();
    }
  });

  it('a bearer token', async () => {
    const token = 'tok-9f2Kx7Qw3Lm5Zp8Rt1Vb6';
    const { logger, close } = await sendTwice({ tokens: [token] }, () => createTokenAuth(token));
    try {
      assert.equal(logger.redact(`echo ${token}`), 'echo [redacted]');
    } finally {
      await close();
    }
  });
});
