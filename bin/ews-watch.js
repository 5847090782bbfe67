#!/usr/bin/env node
// Signals first: loading the program takes a few hundred milliseconds, and a Ctrl-C then is an orderly stop too.
import { catchSignals } from '../dist/src/cli/signals.js';
const interrupts = catchSignals();
const { default: main } = await import('../dist/src/cli/main.js');
process.exitCode = await main(undefined, interrupts);
