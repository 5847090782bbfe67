// Loaded into a spawned CLI with NODE_OPTIONS=--import: registers record-loads-hooks.ts, which appends the URL of
// every module the program imports (static or dynamic) to the file named by EWS_WATCH_TEST_LOADS. Used by
// test/e2e/start-up.test.ts to check what --help and a plain watch load, by name.

import { register } from 'node:module';

register('./record-loads-hooks.js', import.meta.url, { data: { file: process.env.EWS_WATCH_TEST_LOADS } });
