// The simulator's `proxy` option: what a reverse proxy or load balancer in front of Exchange does to a stream.
// Response buffering holds the body until it ends; an idle timeout cuts a connection quiet for a simulated minute;
// a balancer that strips cookies sends the stream where a farm does not know the subscription.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js';
import { gseBody, post, rawPost, splitEnvelopes, subscribe, subscribeBody, textOf } from './helpers.js';

const statusesOf = (text: string): Array<string | undefined> => splitEnvelopes(text).map((e) => textOf(e, 'ConnectionStatus'));

async function withSim(options: SimulatorOptions, fn: (sim: Simulator) => Promise<void>): Promise<void> {
  const sim = await startSimulator(options);
  try {
    await fn(sim);
  } finally {
    await sim.close();
  }
}

describe('simulator proxy: response buffering', () => {
  test('the head passes at once; the body, event and heartbeats included, reaches the client only with Closed, in one piece', async () => {
    await withSim({ heartbeatMs: 40, minuteMs: 400, proxy: { buffering: true } }, async (sim) => {
      const { id, cookie } = await subscribe(sim);
      const stream = rawPost(sim, gseBody([id], 1), { Cookie: cookie });
      assert.match(await stream.head, /^HTTP\/1\.1 200 OK\r\n/);
      await sim.waitFor(() => sim.connections().length === 1);
      sim.deliverMail({ subject: 'held back' });
      // Exchange wrote the notification and then two more heartbeats (80 ms later): none of it has reached the client.
      await sim.waitFor(() => {
        const at = sim.sent.findIndex((e) => e.kind === 'notification');
        return at >= 0 && sim.sent.slice(at + 1).filter((e) => e.kind === 'heartbeat').length >= 2;
      });
      assert.equal(stream.chunks.length, 0, 'nothing before the end of the answer');
      const { ended } = await stream.done;
      assert.equal(ended, true);
      assert.equal(stream.chunks.length, 1, 'everything at once');
      const statuses = statusesOf(stream.text());
      assert.equal(statuses.at(-1), 'Closed');
      assert.equal(splitEnvelopes(stream.text()).filter((e) => e.includes('held back') || e.includes('<m:Notifications>')).length, 1);
      assert.equal(stream.text(), sim.sent.map((e) => e.xml).join(''), 'what Exchange wrote, unchanged');
    });
  });

  test('ordinary answers still arrive whole, with their cookies; a full buffer is passed on before the end', async () => {
    await withSim({ heartbeatMs: 20, minuteMs: 1000, proxy: { buffering: { flushBytes: 2000 } } }, async (sim) => {
      const answer = await post(sim, subscribeBody());
      assert.equal(answer.status, 200);
      assert.match(answer.headers.get('set-cookie') ?? '', /X-BackEndOverrideCookie=/);
      const id = /<m:SubscriptionId>([^<]+)</.exec(answer.body)![1]!;
      const stream = rawPost(sim, gseBody([id], 1));
      await stream.until((text) => text.length > 0, 3000);
      // Heartbeats of some 600 bytes each: the first bytes come once more than 2000 are held, long before Closed.
      assert.ok(stream.chunks[0]!.length >= 2000, `first chunk ${stream.chunks[0]!.length} bytes`);
      assert.equal(sim.sent.some((e) => e.kind === 'closed'), false);
      stream.destroy();
    });
  });
});

describe('simulator proxy: idle timeout', () => {
  test('no heartbeats: the connection is cut one simulated minute after its last byte, without Closed', async () => {
    const log: string[] = [];
    await withSim({ heartbeatMs: 0, minuteMs: 200, proxy: { idleTimeoutMs: true }, log: (l) => log.push(l) }, async (sim) => {
      const { id, cookie } = await subscribe(sim);
      const stream = rawPost(sim, gseBody([id], 5), { Cookie: cookie });
      await stream.until((text) => text.includes('ConnectionStatus'), 3000);
      sim.deliverMail({ subject: 'before the cut' });
      await stream.until((text) => text.includes('<m:Notifications>'), 3000);
      // The last byte's time as the server wrote it: the client may read it late on a busy machine, which would shorten
      // the quiet measured from there (188 ms was seen); the end is seen no earlier than the cut.
      const lastByte = sim.sent.findLast((e) => e.kind === 'notification')!.at;
      const { ended } = await stream.done;
      const quiet = Date.now() - lastByte;
      assert.equal(ended, false, 'the body never ends with its zero-size chunk');
      const envelopes = splitEnvelopes(stream.text());
      assert.deepEqual(envelopes.map((e) => textOf(e, 'ConnectionStatus') ?? (e.includes('<m:Notifications>') ? 'event' : '?')), ['OK', 'event'], 'no Closed');
      assert.ok(quiet >= 190, `cut ${quiet} ms after the last byte, not before 200`);
      assert.ok(log.includes('proxy: no byte for 200 ms: connection cut'), log.join('\n'));
      assert.equal(sim.sent.some((e) => e.kind === 'closed'), false);
    });
  });

  test('heartbeats more often than the timeout keep the connection until the server closes it', async () => {
    await withSim({ heartbeatMs: 50, minuteMs: 200, proxy: { idleTimeoutMs: true } }, async (sim) => {
      const { id, cookie } = await subscribe(sim);
      const stream = rawPost(sim, gseBody([id], 2), { Cookie: cookie });
      const { ended } = await stream.done;
      assert.equal(ended, true);
      const statuses = statusesOf(stream.text());
      assert.equal(statuses.at(-1), 'Closed');
      assert.ok(statuses.length >= 6, `heartbeats all along 400 ms: ${statuses.length}`);
    });
  });

  test('an answer that does not even start within the timeout gets 504 Gateway Timeout', async () => {
    await withSim({ proxy: { idleTimeoutMs: 100 } }, async (sim) => {
      sim.script('Subscribe', { hang: true });
      const answer = await post(sim, subscribeBody());
      assert.equal(answer.status, 504);
      assert.match(answer.body, /504 Gateway Time-out/);
    });
  });
});

describe('simulator proxy: cookies', () => {
  test("'answers': Subscribe's Set-Cookie never reaches the client, and in a farm the stream's server does not know the subscription", async () => {
    await withSim({ requireAffinity: true, proxy: { stripCookies: 'answers' } }, async (sim) => {
      const answer = await post(sim, subscribeBody());
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.headers.getSetCookie(), []);
      const id = /<m:SubscriptionId>([^<]+)</.exec(answer.body)![1]!;
      const stream = rawPost(sim, gseBody([id], 1));
      await stream.done;
      assert.equal(textOf(stream.text(), 'ResponseCode'), 'ErrorSubscriptionNotFound');
    });
  });

  test("'requests': the cookie the client sends back never reaches Exchange", async () => {
    await withSim({ requireAffinity: true, proxy: { stripCookies: 'requests' } }, async (sim) => {
      const { id, cookie } = await subscribe(sim);
      assert.match(cookie, /X-BackEndOverrideCookie=/);
      const stream = rawPost(sim, gseBody([id], 1), { Cookie: cookie });
      await stream.done;
      assert.equal(textOf(stream.text(), 'ResponseCode'), 'ErrorSubscriptionNotFound');
      const gse = sim.requests.filter((r) => r.operation === 'GetStreamingEvents');
      assert.deepEqual(gse.map((r) => [r.cookieReplayed, r.headers.cookie]), [[false, undefined]]);
    });
  });

  test('without a farm that needs them, stripped cookies change nothing', async () => {
    await withSim({ heartbeatMs: 40, minuteMs: 100, proxy: { stripCookies: 'both' } }, async (sim) => {
      const { id, cookie } = await subscribe(sim);
      assert.equal(cookie, '');
      const stream = rawPost(sim, gseBody([id], 1));
      await stream.done;
      assert.equal(statusesOf(stream.text()).at(-1), 'Closed');
    });
  });
});
