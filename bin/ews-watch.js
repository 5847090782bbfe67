#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

// --help, -h, --version and -V alone, off a terminal: the answers the build rendered from the program itself
// (scripts/render-quick-answers.mjs), printed without loading it. On a terminal the program renders help for the
// terminal's width.
const quick = quickAnswer(process.argv.slice(2));
if (quick !== undefined) {
  // As the program does: a reader that went away (`ews-watch --help | head -1`) is a normal end; any other failure
  // (a full disk) is said in one line, exit 1.
  process.stdout.on('error', (err) => {
    if (err.code === 'EPIPE' || err.code === 'ECONNRESET') return;
    process.stderr.write(`ews-watch: cannot write to standard output: ${err.message}\n`);
    process.exitCode = 1;
  });
  process.stdout.write(quick);
} else {
  tuneV8();
  // Signals first: loading the program takes a few hundred milliseconds, and a Ctrl-C then is an orderly stop too.
  const { catchSignals } = await import('../dist/src/cli/signals.js');
  const interrupts = catchSignals();
  const { default: main } = await import('../dist/src/cli/main.js');
  process.exitCode = await main(undefined, interrupts);
}

function quickAnswer(args) {
  if (args.length !== 1 || process.stdout.isTTY || process.env.EWS_WATCH_FULL_HELP) return undefined;
  try {
    const answers = JSON.parse(readFileSync(new URL('../dist/src/cli/quick-answers.json', import.meta.url), 'utf8'));
    return Object.hasOwn(answers, args[0]) ? answers[args[0]] : undefined;
  } catch {
    // Not built with its answers (an older build): the program answers.
    return undefined;
  }
}

// Memory (issue 13: a watch stays below 100 MB through a burst and a stalled reader), set before any code runs:
// - undici parses HTTP with llhttp compiled to WebAssembly; V8's optimising tier (TurboFan) recompiles its large
//   state machine once it is hot, which took ~35 MB of transient compiler memory (peak RSS 103 MB before any
//   event, 77 MB after) to speed up a parser that, here, only walks chunk headers. The baseline tier only: peak
//   and resting RSS ~67 MB.
// - V8's young generation doubles under allocation pressure, to 3 × 16 MB in a burst, and then stays that size;
//   kept at its initial size it costs a few more scavenges (≈10% CPU in a 30k-event burst) and ~27 MB of peak RSS.
// - After each full collection V8 lets the old generation grow up to 4 × what survived before it collects again; a
//   watch keeps ~20 MB alive, yet a burst left 37 MB of old space. Growing by half of what survived: peak ~90 MB
//   instead of ~105 MB, for more full collections (~7% more CPU in a 30k-event burst: 43 µs per event, not 40).
// All are V8 flags read when they are used, so setting them here, before undici's first connection and before the
// heap grows, takes effect (bench/sections/memory.ts measures it).
function tuneV8() {
  setFlagsFromString('--liftoff-only');
  setFlagsFromString('--semi-space-growth-factor=1');
  setFlagsFromString('--heap-growing-percent=50');
}
