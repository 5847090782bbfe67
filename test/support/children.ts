// Every process a test starts is registered with track() and SIGKILLed when the test that started it ends, pass
// or fail (node:test aborts a test's signal when it ends), and at the latest when the file's process exits or is
// told to stop (./child-registry.ts). A failing end-to-end test thus never leaves an ews-watch behind that keeps
// `npm test` waiting.

import { createHook, executionAsyncResource } from 'node:async_hooks';
import type { ChildProcess } from 'node:child_process';
import { forget, kill, register, type Tracked } from './child-registry.js';

export { killAllChildren, runningChildren } from './child-registry.js';

/** What node:test's Test objects (AsyncResources of type 'Test') carry that we use: their name and end signal. */
interface TestLike {
  name?: unknown;
  signal?: unknown;
}

const OWNER = Symbol('ews-watch-test-owner');

// Which test is running: as with AsyncLocalStorage, every async resource inherits the test it was created under,
// and a Test (node:test runs each test's function in the Test's own async scope) owns itself. Enabled when a test
// file imports this module, before its tests are declared.
createHook({
  init(_id, type, _trigger, resource) {
    const owner = type === 'Test' ? resource : (executionAsyncResource() as Record<symbol, unknown>)[OWNER];
    if (owner !== undefined) (resource as Record<symbol, unknown>)[OWNER] = owner;
  },
}).enable();

function currentTest(): TestLike | undefined {
  return (executionAsyncResource() as Record<symbol, TestLike | undefined>)[OWNER];
}

/** Registers a child: it is killed when the current test ends (or the process does), whatever the outcome. */
export function track<C extends ChildProcess>(child: C, o: { group?: boolean; label?: string } = {}): C {
  const test = currentTest();
  const entry: Tracked = { child, group: o.group === true, label: o.label ?? child.spawnfile, test: typeof test?.name === 'string' ? test.name : '(outside a test)' };
  register(entry);
  const signal = test?.signal instanceof AbortSignal ? test.signal : undefined;
  const onEnd = (): void => kill(entry);
  signal?.addEventListener('abort', onEnd, { once: true });
  child.once('exit', () => {
    if (entry.group) return;
    forget(entry);
    signal?.removeEventListener('abort', onEnd);
  });
  if (signal?.aborted) kill(entry);
  return child;
}
