// The parts of undici ews-watch uses (an HTTP/1.1 Client with its request API, the TLS connector, the error classes),
// loaded from undici's own files instead of its index, which also loads fetch, WebSocket, the cache, the mock agent
// and more: about a hundred files a watch never runs (spawn → first event costs ~35 ms less). undici 7's package has
// no exports map, so these paths are its public files; the version is pinned in package.json. The request API is
// put on the Dispatcher prototype as undici's index does (the same functions, so loading both is harmless).

import { createRequire } from 'node:module';
import type * as Undici from 'undici';

const load = createRequire(import.meta.url);

const dispatcher = load('undici/lib/dispatcher/dispatcher.js') as { prototype: object };
Object.assign(dispatcher.prototype, load('undici/lib/api/index.js') as object);

export const Client = load('undici/lib/dispatcher/client.js') as typeof Undici.Client;
export const buildConnector = load('undici/lib/core/connect.js') as typeof Undici.buildConnector;
export const errors = load('undici/lib/core/errors.js') as typeof Undici.errors;
