// The IOStreams double (test/support/io-streams.ts) stands in for the process: signals from its fake source stop an
// in-process watch in order, a command with no orderly stop hands them back, and a terminal stdout gets the
// pretty output a person sees. Real signals, pipes and ttys stay end to end (test/e2e/watch.test.ts, terminal.test.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import main from '../../src/cli/main.js';
import { envFor, parseLines, requestsOf, withSim } from '../e2e/helpers.js';
import { createTestIo } from '../support/io-streams.js';

describe('commands in-process', { concurrency: 2 }, () => {
  it('SIGINT from the fake source: the watch stops in order (Unsubscribe), exit 0, and -v says why', async () => {
    await withSim({}, async (sim) => {
      // --since now: no state directory to make or remove.
      const t = createTestIo(['--json', '--events', 'NewMail', '--since', 'now', '-v'], { env: envFor(sim) });
      const ended = main(t.io, t.interrupts);
      await sim.waitFor(() => sim.connections().length > 0, 15_000);
      sim.deliverMail({ subject: 'before the stop' });
      await sim.waitFor(() => t.stdout().split('\n').length > 1, 15_000);
      t.signals.send('SIGINT');
      const code = await ended;
      assert.equal(code, 0, t.stderr());
      assert.deepEqual(parseLines(t.stdout()).map((l) => l.event), ['NewMail']);
      assert.equal(requestsOf(sim, 'Unsubscribe').length, 1);
      assert.match(t.stderr(), /\news-watch: stopped: SIGINT\n/);
      assert.deepEqual([t.signals.raised, t.signals.exits], [[], []], 'an orderly stop: nothing raised again, no forced exit');
    });
  });

  it('login has no orderly stop: a signal that came while it loaded is raised again (handed over)', async () => {
    const t = createTestIo(['login', '--password-stdin'], { env: { EWS_URL: 'https://mail.contoso.com/EWS/Exchange.asmx', EWS_USER: 'alice@contoso.com', EWS_KEYCHAIN: 'none' }, stdin: 'x\n' });
    t.signals.send('SIGTERM');
    const code = await main(t.io, t.interrupts);
    assert.deepEqual(t.signals.raised, ['SIGTERM']);
    // A real process dies of the raised signal here; the double lets the command go on to its usage error.
    assert.equal(code, 2);
    assert.match(t.stderr(), /--keychain none \(EWS_KEYCHAIN=none\) turns the credential store off/);
  });

  it('a terminal stdout gets pretty lines, a pipe NDJSON (the double\'s isTTY reaches the config)', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const tty = createTestIo(['--events', 'NewMail', '--max-events', '1', '--color', 'never', '--since', 'now'], { env: envFor(sim), tty: { stdout: true }, columns: 100 });
      assert.equal(await main(tty.io, tty.interrupts), 0, tty.stderr());
      assert.match(tty.stdout(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}NewMail +item in inbox *\n$/);
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const pipe = createTestIo(['--events', 'NewMail', '--max-events', '1', '--since', 'now'], { env: envFor(sim) });
      assert.equal(await main(pipe.io, pipe.interrupts), 0, pipe.stderr());
      assert.equal(parseLines(pipe.stdout())[0]?.event, 'NewMail');
    });
  });
});
