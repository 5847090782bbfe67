// The real EWS client (src/transport/ews-client.ts) over a minimal fetch-based EwsHttp with Basic auth, pointed at a
// simulator: for tests of the write calls that need the client's own builders and decoders, not the CLI around them.

import { createEwsClient } from '../../src/transport/ews-client.js';
import type { EwsHttp } from '../../src/transport/http.js';
import type { Simulator } from '../../src/simulator/types.js';

export function fetchHttp(sim: Simulator): EwsHttp & { bodies: string[] } {
  const bodies: string[] = [];
  const authorization = `Basic ${Buffer.from(`${sim.credentials.user}:${sim.credentials.password}`).toString('base64')}`;
  return {
    bodies,
    async post(body, opts) {
      bodies.push(body);
      const res = await fetch(sim.url, { method: 'POST', headers: { authorization, 'content-type': 'text/xml; charset=utf-8' }, body, signal: opts.signal });
      return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
    },
    openStream() {
      throw new Error('fetchHttp serves ordinary calls only');
    },
    scheme: () => 'basic',
    async close() {},
  };
}

export function simClient(sim: Simulator, serverVersion = 'Exchange2013_SP1') {
  const http = fetchHttp(sim);
  const client = createEwsClient({ http, ctx: { serverVersion }, folders: { kind: 'all' }, events: ['NewMail'], user: sim.credentials.user });
  return { client, http };
}
