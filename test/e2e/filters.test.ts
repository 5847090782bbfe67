// --from, --subject, --max-events and --timeout end to end: the one-line "wait for the one-time code", mail that
// does not match and does not count, a wait that runs out (exit 124, a real 2-second timeout). Usage errors that
// exit 2 before any request are checked in-process: test/cli/usage.test.ts.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli, startCli } from '../support/cli.js';
import { envFor, parseLines, requestsOf, withSim } from './helpers.js';

const adele = { name: 'Adele Vance', address: 'adele.vance@contoso.com' };
const bank = { name: 'Woodgrove Bank', address: 'noreply@woodgrovebank.com' };

describe('filters and one-shot waits, end to end', { concurrency: 2 }, () => {
  it('--events NewMail --from bank --max-events 1 --timeout 2m --json: the first mail from the bank, then exit 0', async () => {
    await withSim({}, async (sim) => {
      const run = startCli(['--events', 'NewMail', '--from', 'bank', '--max-events', '1', '--timeout', '2m', '--json'], { env: envFor(sim) });
      await sim.waitFor(() => sim.connections().length > 0);
      sim.deliverMail({ subject: 'Lunch?', from: adele });
      const code = sim.deliverMail({ subject: 'Your one-time code: 482913', from: bank }).item!;
      sim.deliverMail({ subject: 'Your other code: 111111', from: bank });
      const r = await run.result();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      const lines = parseLines(r.stdout);
      assert.deepEqual(lines.map((l) => [l.event, l.itemId, l.subject]), [['NewMail', code.id, 'Your one-time code: 482913']]);
      assert.deepEqual(lines[0]?.from, bank);
      assert.equal(requestsOf(sim, 'Unsubscribe').length, 1, 'it unsubscribed on the way out');
    });
  });

  it('--subject /regex/i and --from together: both must match; --max-events counts printed events only', async () => {
    await withSim({}, async (sim) => {
      const run = startCli(['--events', 'NewMail', '--from', 'woodgrove', '--subject', '/code: \\d{6}$/i', '--max-events', '2', '--json'], { env: envFor(sim) });
      await sim.waitFor(() => sim.connections().length > 0);
      sim.deliverMail({ subject: 'Your CODE: 123456', from: adele });
      const first = sim.deliverMail({ subject: 'Your CODE: 123456', from: bank }).item!;
      sim.deliverMail({ subject: 'Statement ready', from: bank });
      const second = sim.deliverMail({ subject: 'Login code: 654321', from: bank }).item!;
      const r = await run.result();
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(parseLines(r.stdout).map((l) => l.itemId), [first.id, second.id]);
    });
  });

  it('--timeout: nothing matched in time → exit 124 with one line on stderr; mail that does not match does not count', async () => {
    await withSim({}, async (sim) => {
      const started = Date.now();
      const run = startCli(['--events', 'NewMail', '--from', 'bank', '--max-events', '1', '--timeout', '2s', '--json'], { env: envFor(sim) });
      await sim.waitFor(() => sim.connections().length > 0);
      sim.deliverMail({ subject: 'not from the bank', from: adele });
      const r = await run.result();
      assert.equal(r.code, 124, r.stderr);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, 'ews-watch: --timeout 2s: no event matched in time\n');
      assert.ok(Date.now() - started >= 2000, 'not before the time was up');
      assert.equal(requestsOf(sim, 'GetItem').length, 1, 'the mail was looked at');
      assert.equal(requestsOf(sim, 'Unsubscribe').length, 1, 'a timeout still unsubscribes');
    });
  });

  it('--timeout without filters: the first event ends the wait happily when it is all --max-events asks for', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(['--events', 'NewMail', '--max-events', '1', '--timeout', '30s', '--json'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseLines(r.stdout).length, 1);
    });
  });
});
