// Shared pieces of the end-to-end tests: a simulator per test, the environment that points the CLI at it, and
// the requests every simulator saw (so one test at the end can check them all against Microsoft's schema).

import { startSimulator } from '../../src/simulator/index.js';
import type { RecordedRequest, Simulator, SimulatorOptions } from '../../src/simulator/types.js';

export const allRequests: RecordedRequest[] = [];

export async function withSim<T>(opts: SimulatorOptions, fn: (sim: Simulator) => Promise<T>): Promise<T> {
  const sim = await startSimulator({ heartbeatMs: 60_000, ...opts });
  try {
    return await fn(sim);
  } finally {
    allRequests.push(...sim.requests);
    await sim.close();
  }
}

/** Basic unless a test says otherwise: these tests are about streaming; test/e2e/auth.test.ts covers auto and NTLM. */
export function envFor(sim: Simulator, extra: Record<string, string> = {}): Record<string, string> {
  return { EWS_URL: sim.url, EWS_AUTH: 'basic', EWS_USER: sim.credentials.user, EWS_PASSWORD: sim.credentials.password, ...extra };
}

export function requestsOf(sim: Simulator, operation: string): RecordedRequest[] {
  return sim.requests.filter((r) => r.operation === operation);
}

/** The SubscriptionId(s) named in a request body. */
export function subscriptionIdsIn(body: string): string[] {
  return [...body.matchAll(/<(?:[A-Za-z]\w*:)?SubscriptionId>([^<]*)<\/(?:[A-Za-z]\w*:)?SubscriptionId>/g)].map((m) => m[1]);
}

export function parseLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
