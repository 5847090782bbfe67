// Yardstick for a burst: the bare reader (undici + one saxes parse per envelope, printing nothing). Counts events;
// a number written on its stdin asks it to say "reached N" once it has seen N events (the harness's only way to
// know it is done, at no cost per event but one comparison).

import { stream, subscribe } from './ews.js';

let seen = 0;
const targets: number[] = [];
const answer = (): void => {
  while (targets.length > 0 && seen >= targets[0]!) process.stdout.write(`reached ${targets.shift()}\n`);
};
let asked = '';
process.stdin.setEncoding('utf8').on('data', (d: string) => {
  const parts = (asked + d).split('\n');
  asked = parts.pop() ?? '';
  for (const p of parts) if (p.trim() !== '') targets.push(Number(p));
  targets.sort((a, b) => a - b);
  answer();
});
const id = await subscribe();
await stream(id, (n) => {
  seen += n;
  if (targets.length > 0 && seen >= targets[0]!) answer();
});
