// Yardstick for idle CPU: a bare undici process that subscribes, opens one GetStreamingEvents with bodyTimeout 0
// and holds the idle response, parsing what comes (heartbeats).

import { stream, subscribe } from './ews.js';

const id = await subscribe();
await stream(id, () => undefined);
