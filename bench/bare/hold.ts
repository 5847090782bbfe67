// Yardstick for idle CPU: a bare undici process that subscribes, opens one GetStreamingEvents with bodyTimeout 0
// and holds the idle response, parsing what comes (heartbeats). Says "open" on stdout once the stream is open.

import { stream, subscribe } from './ews.js';

const id = await subscribe();
process.stdout.write('open\n');
await stream(id, () => undefined);
