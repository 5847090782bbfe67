#!/usr/bin/env node
import { readFileSync } from 'node:fs';

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
