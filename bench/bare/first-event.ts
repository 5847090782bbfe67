// Yardstick for spawn → first event line: a bare undici script doing the same round trips as the CLI must before
// an event can reach it (Subscribe, then GetStreamingEvents), printing one line for the first envelope with an
// event, then exiting.

import { stream, subscribe } from './ews.js';

const id = await subscribe();
await stream(id, (n) => {
  if (n === 0) return;
  process.stdout.write(`{"events":${n}}\n`, () => process.exit(0));
});
