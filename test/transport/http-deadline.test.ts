// The answer deadline of ordinary calls and the connection of urgent ones (src/transport/http.ts), against the
// simulator: an answer that trickles a byte now and then is given up at the deadline; an urgent call (the Unsubscribe
// on the way out) does not wait behind a call the server is trickling, with NTLM signing in its own connection too.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBasicAuth } from '../../src/auth/basic.js';
import { createNtlmAuth } from '../../src/auth/ntlm.js';
import type { AuthProvider } from '../../src/auth/types.js';
import { AuthError, TransportError } from '../../src/errors.js';
import { buildUnsubscribe } from '../../src/ews/requests.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { createLogger } from '../../src/term/logger.js';
import { createEwsHttp, type EwsHttp } from '../../src/transport/http.js';
import { getFolderBody, getItemBody } from '../simulator/mailbox-requests.js';

const unsubscribeBody = buildUnsubscribe({ serverVersion: 'Exchange2013_SP1' }, 'AAMkADAwATM0MDAAMS1iNzQ0LTkzAGRkLTAwAi0wMAoAEAAAAA==');

async function withHttp(answerTimeoutMs: number, auth: (sim: Simulator) => AuthProvider | Promise<AuthProvider>, fn: (sim: Simulator, http: EwsHttp, debug: string[]) => Promise<void>): Promise<void> {
  const sim = await startSimulator({});
  const debug: string[] = [];
  const http = createEwsHttp({ url: new URL(sim.url), auth: await auth(sim), anchorMailbox: sim.mailboxAddress, logger: createLogger((l) => debug.push(l), 1), now: Date.now, answerTimeoutMs });
  try {
    await fn(sim, http, debug);
  } finally {
    await http.close();
    await sim.close();
  }
}

const basic = (sim: Simulator): AuthProvider => createBasicAuth(sim.credentials.user, sim.credentials.password);
const ntlm = (sim: Simulator): Promise<AuthProvider> => createNtlmAuth(sim.credentials.user, sim.credentials.password);

describe('the answer deadline of ordinary calls', () => {
  it('an answer that trickles a byte every 50 ms (each far within any idle timeout) is given up at the deadline', async () => {
    await withHttp(800, basic, async (sim, http) => {
      sim.script('GetFolder', { trickle: { everyMs: 50 } });
      const origin = new URL(sim.url).origin;
      await assert.rejects(http.post(getFolderBody(['inbox'], 'IdOnly'), { operation: 'GetFolder' }), (err: unknown) => {
        assert.ok(err instanceof TransportError);
        assert.equal(err.message, `GetFolder: ${origin} did not send its whole answer within 0.8 s (it was still arriving); giving up on it`);
        assert.equal(err.timedOut, true);
        assert.equal(err.status, undefined, 'no status: a transient failure, retried with backoff');
        return true;
      });
      await sim.waitFor(() => sim.trickles[0]?.ended !== undefined);
      assert.equal(sim.trickles[0]?.ended?.complete, false, 'the client closed it before its last byte');
      // The connection is usable again at once.
      assert.equal((await http.post(getFolderBody(['inbox'], 'IdOnly'), { operation: 'GetFolder' })).status, 200);
    });
  });

  it('a request that is never answered fails at the same deadline, saying no answer came', async () => {
    await withHttp(500, basic, async (sim, http) => {
      sim.script('GetFolder', { hang: true });
      await assert.rejects(http.post(getFolderBody(['inbox'], 'IdOnly'), { operation: 'GetFolder' }), (err: unknown) => {
        assert.ok(err instanceof TransportError);
        assert.equal(err.message, `GetFolder: ${new URL(sim.url).origin} accepted the connection but sent no answer within 0.5 s`);
        assert.equal(err.timedOut, true);
        return true;
      });
    });
  });

  it('a sign-in that cannot be done (no token) passes through as the AuthError it is, not as network trouble', async () => {
    const refused = new AuthError('not signed in to Exchange Online as alice@contoso.com: run ews-watch login first');
    const noToken: AuthProvider = { scheme: 'oauth', secrets: [], authorization: () => Promise.reject(refused) };
    await withHttp(10_000, () => noToken, async (_sim, http) => {
      await assert.rejects(http.post(getFolderBody(['inbox'], 'IdOnly'), { operation: 'GetFolder' }), (err: unknown) => err === refused);
    });
  });

  it('the caller stopping is not a timeout: its abort passes through as it was', async () => {
    await withHttp(10_000, basic, async (sim, http) => {
      sim.script('GetFolder', { trickle: { everyMs: 50 } });
      const stop = new AbortController();
      const call = http.post(getFolderBody(['inbox'], 'IdOnly'), { operation: 'GetFolder', signal: stop.signal });
      await sim.waitFor(() => sim.trickles.length === 1);
      stop.abort();
      await assert.rejects(call, (err: unknown) => err instanceof Error && err.name === 'AbortError' && !(err instanceof TransportError));
    });
  });
});

describe('urgent calls do not wait behind a trickling one', () => {
  for (const [scheme, auth] of [['Basic', basic], ['NTLM', ntlm]] as const) {
    it(`${scheme}: an urgent call sent while the connection for calls trickles an answer is answered at once, on a connection of its own`, async () => {
      await withHttp(60_000, auth, async (sim, http, debug) => {
        sim.script('GetFolder', { trickle: { everyMs: 100 } });
        const trickling = http.post(getFolderBody(['inbox'], 'IdOnly'), { operation: 'GetFolder' });
        trickling.catch(() => undefined);
        await sim.waitFor(() => sim.trickles.length === 1);
        const res = await http.post(unsubscribeBody, { operation: 'Unsubscribe', urgent: true });
        assert.equal(res.status, 200);
        const unsubscribe = sim.requests.filter((r) => r.operation === 'Unsubscribe').at(-1);
        assert.ok(unsubscribe);
        assert.equal(sim.trickles[0]?.ended, undefined, 'answered while the other answer was still trickling');
        assert.ok(debug.some((l) => l.includes('Unsubscribe: the connection for calls is busy; sending it on a connection of its own')));
        if (scheme === 'NTLM') assert.equal(new Set(sim.ntlm.logins.map((l) => l.connection)).size, 2, 'each connection signed in by itself');
      });
    });
  }

  it('an urgent call on an idle connection takes that connection (no new one, no new NTLM sign-in)', async () => {
    await withHttp(60_000, ntlm, async (sim, http, debug) => {
      assert.equal((await http.post(getFolderBody(['inbox'], 'IdOnly'), { operation: 'GetFolder' })).status, 200);
      assert.equal((await http.post(unsubscribeBody, { operation: 'Unsubscribe', urgent: true })).status, 200);
      assert.equal(sim.ntlm.logins.length, 1);
      assert.equal(debug.some((l) => l.includes('connection of its own')), false);
    });
  });

  it('without urgent, the same call waits its turn behind the trickling one', async () => {
    await withHttp(1_000, basic, async (sim, http) => {
      sim.script('GetFolder', { trickle: { everyMs: 100 } });
      const trickling = http.post(getFolderBody(['inbox'], 'IdOnly'), { operation: 'GetFolder' });
      trickling.catch(() => undefined);
      await sim.waitFor(() => sim.trickles.length === 1);
      assert.equal((await http.post(unsubscribeBody, { operation: 'Unsubscribe' })).status, 200);
      const unsubscribe = sim.requests.find((r) => r.operation === 'Unsubscribe');
      const ended = sim.trickles[0]?.ended;
      assert.ok(unsubscribe && ended);
      assert.ok(unsubscribe.seq > ended.afterRequests, 'sent only after the trickling answer was given up');
    });
  });
});

describe('lookups run side by side on connections of their own', () => {
  it('NTLM: three GetItem at once go on three connections, each signed in once, none behind a call the server trickles', async () => {
    await withHttp(60_000, ntlm, async (sim, http) => {
      const id = sim.deliverMail({ subject: 'x' }).item!.id;
      sim.script('GetFolder', { trickle: { everyMs: 100 } });
      const trickling = http.post(getFolderBody(['inbox'], 'IdOnly'), { operation: 'GetFolder' });
      trickling.catch(() => undefined);
      await sim.waitFor(() => sim.trickles.length === 1);
      sim.script('GetItem', { delayMs: 200 }, { delayMs: 200 }, { delayMs: 200 });
      const answers = await Promise.all([1, 2, 3].map(() => http.post(getItemBody([id]), { operation: 'GetItem', lookup: true })));
      assert.deepEqual(answers.map((a) => a.status), [200, 200, 200]);
      assert.equal(sim.trickles[0]?.ended, undefined, 'answered while the other answer was still trickling');
      const items = sim.requests.filter((r) => r.operation === 'GetItem');
      assert.equal(Math.max(...items.map((r) => r.inFlight)), 3, 'all three open at once');
      // The connection for calls and three for lookups, each with one handshake.
      const connections = sim.ntlm.logins.map((l) => l.connection);
      assert.equal(connections.length, 4);
      assert.equal(new Set(connections).size, 4);
      // A later lookup reuses a connection already signed in.
      assert.equal((await http.post(getItemBody([id]), { operation: 'GetItem', lookup: true })).status, 200);
      assert.equal(sim.ntlm.logins.length, 4);
    });
  });
});
