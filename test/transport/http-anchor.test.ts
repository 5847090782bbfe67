// X-AnchorMailbox when the mailbox is found only after sign-in (src/transport/http.ts): while the address is
// unknown, requests carry neither X-AnchorMailbox nor X-PreferServerAffinity; from the moment it is known, every
// request carries both. Against the simulator, which records each request's headers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBasicAuth } from '../../src/auth/basic.js';
import { startSimulator } from '../../src/simulator/index.js';
import { createLogger } from '../../src/term/logger.js';
import { createEwsHttp } from '../../src/transport/http.js';
import { getFolderBody } from '../simulator/mailbox-requests.js';

test('an anchor function: no affinity headers until it returns an address, then both on every request', async () => {
  const sim = await startSimulator({ user: 'CONTOSO\\alice' });
  let anchor: string | undefined;
  const http = createEwsHttp({
    url: new URL(sim.url),
    auth: createBasicAuth(sim.credentials.user, sim.credentials.password),
    anchorMailbox: () => anchor,
    logger: createLogger(() => undefined, 0),
    now: Date.now,
  });
  try {
    const before = await http.post(getFolderBody(['root'], 'IdOnly'), { operation: 'GetFolder' });
    assert.equal(before.status, 200);
    anchor = 'alice@contoso.com';
    await http.post(getFolderBody(['inbox'], 'IdOnly'), { operation: 'GetFolder' });
    await http.post(getFolderBody(['inbox'], 'IdOnly'), { operation: 'GetFolder' });
    const seen = sim.requests.map((r) => [r.headers['x-anchormailbox'], r.headers['x-preferserveraffinity']]);
    assert.deepEqual(seen, [
      [undefined, undefined],
      ['alice@contoso.com', 'true'],
      ['alice@contoso.com', 'true'],
    ]);
  } finally {
    await http.close();
    await sim.close();
  }
});
