// Requests the simulated Exchange answers at once: each recorded with how many of its operation were open, and
// Exchange's concurrency budget (EWSMaxConcurrency): one ordinary request too many gets the MaxConcurrency fault.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFault } from '../../src/ews/responses.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js';
import { gseBody, post, rawPost, subscribe } from './helpers.js';
import { getItemBody } from './mailbox-requests.js';

async function withSim(opts: SimulatorOptions, fn: (sim: Simulator) => Promise<void>): Promise<void> {
  const sim = await startSimulator({ heartbeatMs: 60_000, ...opts });
  try {
    await fn(sim);
  } finally {
    await sim.close();
  }
}

const getItems = (sim: Simulator) => sim.requests.filter((r) => r.operation === 'GetItem');

describe('requests answered at once', () => {
  test('three GetItem sent together (each taking 150 ms) are recorded as 1, 2 and 3 open; a later one alone as 1', async () => {
    await withSim({ serviceMs: { GetItem: 150 } }, async (sim) => {
      const id = sim.deliverMail({ subject: 'x' }).item!.id;
      const answers = await Promise.all([1, 2, 3].map(() => post(sim, getItemBody([id]))));
      assert.deepEqual(answers.map((a) => a.status), [200, 200, 200]);
      assert.deepEqual(getItems(sim).map((r) => r.inFlight).sort(), [1, 2, 3]);
      await post(sim, getItemBody([id]));
      assert.equal(getItems(sim).at(-1)?.inFlight, 1, 'the first three were closed when they were answered');
    });
  });

  test('one ordinary request over the budget gets ErrorExceededConnectionCount (MaxConcurrency), the open stream not counted', async () => {
    await withSim({ serviceMs: { GetItem: 300 }, maxConcurrency: 2 }, async (sim) => {
      const { id: sub, cookie } = await subscribe(sim);
      const stream = rawPost(sim, gseBody([sub], 1), { cookie });
      await sim.waitFor(() => sim.connections().length === 1);
      const item = sim.deliverMail({ subject: 'x' }).item!.id;
      const answers = await Promise.all([1, 2, 3].map(() => post(sim, getItemBody([item]))));
      assert.deepEqual(answers.map((a) => a.status).sort(), [200, 200, 500]);
      const refused = answers.find((a) => a.status === 500)!;
      const fault = decodeFault(refused.body);
      assert.equal(fault?.responseCode, 'ErrorExceededConnectionCount');
      assert.match(refused.body, /<t:Value Name="Policy">MaxConcurrency<\/t:Value><t:Value Name="MaxConcurrencyLimit">2<\/t:Value>/);
      assert.match(refused.body, /policy value '2',  Budget type: 'Ews'\.  Suggested backoff time 0 ms\./);
      // Once the others are answered, the budget is free again.
      assert.equal((await post(sim, getItemBody([item]))).status, 200);
      stream.destroy();
    });
  });
});
