// Yardstick for --exec under a burst: the least a Node process can do to run a program once per event, with no
// stream, no parsing and no printing. It runs the hook of the argv BENCH_HOOK_RUNS times, BENCH_HOOK_CONCURRENCY at
// once (the caller passes ews-watch's default --hook-concurrency), each run shaped as ews-watch shapes one
// (src/hooks/process.ts): no shell, its own process group, a short JSON event on stdin, stdout and stderr read to
// their end. It prints "done" with its wall time once the last run has exited. Imports nothing but
// node:child_process.

import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

const argv = process.argv.slice(2);
const runs = Number(process.env.BENCH_HOOK_RUNS ?? 0);
const concurrency = Number(process.env.BENCH_HOOK_CONCURRENCY ?? 0);
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', EWS_EVENT: 'NewMail', EWS_ITEM_ID: 'AAMkAD' };
const stdin = `{"event":"NewMail","timestamp":"2026-12-02T08:00:00Z","mailbox":"alice@contoso.com","subscriptionId":"s","itemId":"AAMkAD","folder":"inbox","source":"stream"}\n`;

if (argv.length === 0 || !(runs > 0) || !(concurrency > 0)) throw new Error('usage: BENCH_HOOK_RUNS=N BENCH_HOOK_CONCURRENCY=C spawn-hooks.js PROGRAM [ARGS…]');
const t0 = performance.now();
let started = 0;
let ended = 0;
const next = (): void => {
  if (started >= runs) return;
  started += 1;
  const child = spawn(argv[0]!, argv.slice(1), { shell: false, stdio: ['pipe', 'pipe', 'pipe'], env, detached: true });
  child.stdin.on('error', () => undefined);
  child.stdin.end(stdin);
  for (const out of [child.stdout, child.stderr]) out.setEncoding('utf8').on('data', () => undefined);
  child.on('close', () => {
    ended += 1;
    if (ended === runs) process.stdout.write(`done ${(performance.now() - t0).toFixed(1)}\n`);
    else next();
  });
};
for (let i = 0; i < concurrency; i++) next();
