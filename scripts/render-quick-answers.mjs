// Build step (npm run build): renders what `ews-watch --help`, `-h`, `--version` and `-V` print off a terminal, by
// running the built program, into dist/src/cli/quick-answers.json. bin/ews-watch.js prints those answers without
// loading the program (commander, the command modules), so they cost little more than starting Node.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const answers = {};
for (const flag of ['--help', '-h', '--version', '-V']) {
  const r = spawnSync(process.execPath, ['bin/ews-watch.js', flag], {
    cwd: root,
    encoding: 'utf8',
    // The full program (not these answers), with stdout a pipe: commander wraps its help at 80 columns then.
    env: { ...process.env, EWS_WATCH_FULL_HELP: '1', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0 || r.stderr !== '' || r.stdout === '') {
    console.error(`render-quick-answers: ews-watch ${flag} exited ${r.status}: ${r.stderr}`);
    process.exit(1);
  }
  answers[flag] = r.stdout;
}
writeFileSync(new URL('../dist/src/cli/quick-answers.json', import.meta.url), `${JSON.stringify(answers)}\n`);
