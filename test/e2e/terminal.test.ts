// End to end on a real terminal (a pty from script(1)): the status line, the password prompt and Ctrl-C as a
// person meets them, including a pty that reports 0 columns (`docker -t`, `ssh -tt`). Assertions are on what the
// terminal received: its size, its escape sequences, and the lines a person would see (screenLines).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { haveScript, screenLines, startPty } from '../support/pty.js';
import { envFor, requestsOf, withSim } from './helpers.js';

const skip = haveScript() ? false : 'script(1) from util-linux is not installed: no pseudo-terminal to test with';
const CLEAR = '\r\u001b[2K';
const count = (text: string, part: string): number => text.split(part).length - 1;
const cursorUp = /\u001b\[\d*A/;
const sgr = /\u001b\[[0-9;]*m/;

/** The sign-in settings without EWS_PASSWORD, and no credential store: ews-watch has to ask. */
function promptEnv(sim: Parameters<typeof envFor>[0]): Record<string, string> {
  const { EWS_PASSWORD: _, ...env } = envFor(sim, { EWS_KEYCHAIN: 'none' });
  return env;
}

describe('on a terminal (a pty from script(1))', { concurrency: 2, skip }, () => {
  it('a pty that reports 0 columns: the events are printed, a few hundred bytes of status, and --max-events ends it with 0', async (t) => {
    const pty = startPty(t, ['demo', '--max-events', '3'], { cols: 0, rows: 0, env: { EWS_WATCH_DEMO_INTERVAL_MS: '300' } });
    const r = await pty.result(30_000);
    assert.equal(r.code, 0, JSON.stringify(r.output.slice(-2000)));
    assert.ok(pty.bytes < 20_000, `${pty.bytes} bytes on the terminal`);
    assert.doesNotMatch(r.output, cursorUp);
    assert.ok(count(r.output, CLEAR) < 40, `${count(r.output, CLEAR)} redraws`);
    const events = screenLines(r.output).filter((l) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}(Created|NewMail|Modified)\b/.test(l));
    assert.equal(events.length, 3, JSON.stringify(screenLines(r.output)));
    // The status line was there, and is gone at the end: the last thing on the screen is an empty line.
    assert.match(r.output, /watching inbox of alice@contoso\.com/);
    assert.equal(screenLines(r.output).at(-1), '');
  });

  it('0 columns: the first Ctrl-C says at once that it is stopping, a second one forces exit 130', async (t) => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'heartbeat' }, { op: 'stall' }]);
      sim.script('Unsubscribe', { hang: true });
      const pty = startPty(t, [], { cols: 0, rows: 0, env: envFor(sim) });
      await pty.waitFor(/watching inbox of/, 'the status line');
      pty.type('\u0003');
      await sim.nextRequest('Unsubscribe');
      // Said while the Unsubscribe still hangs, on a line of its own.
      await pty.waitFor(/ews-watch: stopping \(Ctrl-C again to force\)/, 'the stopping line');
      assert.ok(screenLines(pty.output).includes('ews-watch: stopping (Ctrl-C again to force)'), JSON.stringify(screenLines(pty.output)));
      pty.type('\u0003');
      const r = await pty.result();
      assert.equal(r.code, 130, JSON.stringify(r.output));
      assert.doesNotMatch(r.output, cursorUp);
    });
  });

  it('0 columns: SIGTERM ends the watch in order (Unsubscribe) with 0', async (t) => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'heartbeat' }, { op: 'stall' }]);
      const pty = startPty(t, [], { cols: 0, rows: 0, env: envFor(sim) });
      await pty.waitFor(/watching inbox of/, 'the status line');
      await pty.signal('SIGTERM');
      const r = await pty.result();
      assert.equal(r.code, 0, JSON.stringify(r.output));
      assert.equal(requestsOf(sim, 'Unsubscribe').length, 1);
      assert.ok(screenLines(r.output).includes('ews-watch: stopping (SIGTERM)'), JSON.stringify(screenLines(r.output)));
      assert.ok(pty.bytes < 5_000, `${pty.bytes} bytes`);
    });
  });

  it('no EWS_PASSWORD: the prompt stays alone until the password is typed (not echoed); then the status line starts', async (t) => {
    await withSim({}, async (sim) => {
      const pty = startPty(t, ['--events', 'NewMail'], { cols: 100, env: promptEnv(sim) });
      const prompt = `Password for ${sim.credentials.user}: `;
      await pty.waitFor((o) => o.endsWith(prompt), 'the prompt');
      // More than the second after which the old spinner drew over the prompt.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.ok(pty.output.endsWith(prompt), JSON.stringify(pty.output));
      assert.doesNotMatch(pty.output, /\u001b/);
      assert.equal(sim.requests.length, 0);
      pty.type(`${sim.credentials.password}\r`);
      await pty.waitFor(/watching inbox of/, 'the status line');
      const mail = sim.deliverMail({ subject: 'hello' }).item!;
      await pty.waitFor(/NewMail/, 'the event');
      pty.type('\u0003');
      const r = await pty.result();
      assert.equal(r.code, 0, JSON.stringify(r.output));
      assert.equal(r.output.includes(sim.credentials.password), false, 'the password is not echoed');
      // What is left on the screen: the prompt, the event, the answer to Ctrl-C; the status line is gone.
      const screen = screenLines(r.output).slice(1);
      assert.equal(screen.length, 4, JSON.stringify(screen));
      assert.equal(screen[0], prompt);
      assert.match(screen[1], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}NewMail +item in inbox$/);
      assert.deepEqual(screen.slice(2), ['ews-watch: stopping (Ctrl-C again to force)', '']);
      assert.ok(mail.id);
      assert.equal(requestsOf(sim, 'Unsubscribe').length, 1);
    });
  });

  it('at the password prompt: Ctrl-C exits 130 at once; SIGTERM stops in order with 0; nothing reaches the server', async (t) => {
    await withSim({}, async (sim) => {
      const prompt = `Password for ${sim.credentials.user}: `;
      const typed = startPty(t, [], { cols: 100, env: promptEnv(sim) });
      await typed.waitFor((o) => o.endsWith(prompt), 'the prompt');
      typed.type('\u0003');
      const a = await typed.result();
      assert.equal(a.code, 130, JSON.stringify(a.output));

      const term = startPty(t, [], { cols: 100, env: promptEnv(sim) });
      await term.waitFor((o) => o.endsWith(prompt), 'the prompt');
      await term.signal('SIGTERM');
      const b = await term.result();
      assert.equal(b.code, 0, JSON.stringify(b.output));
      const screen = screenLines(b.output);
      assert.deepEqual(screen.slice(1), [prompt, 'ews-watch: stopping (SIGTERM)', '']);
      assert.equal(sim.requests.length, 0);
    });
  });

  it('stdout a pipe, stderr the terminal (`| jq -r .itemId`): no status line at all, each id on a line of its own', async (t) => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'heartbeat' }, { op: 'newMail' }, { op: 'newMail' }, { op: 'stall' }]);
      const pty = startPty(t, ['--events', 'NewMail', '--json', '--max-events', '2'], { cols: 100, env: envFor(sim), pipeTo: "| sed -n 's/.*\"itemId\":\"\\([^\"]*\\)\".*/\\1/p'" });
      const r = await pty.result();
      assert.equal(r.code, 0, JSON.stringify(r.output));
      const ids = sim.items('inbox').map((m) => m.id);
      assert.equal(ids.length, 2);
      assert.deepEqual(screenLines(r.output).slice(1), [...ids, 'exit=0', '']);
      assert.doesNotMatch(r.output, /\u001b/);
    });
  });

  it('TERM=dumb: no status line; NO_COLOR and --color never: a status line without colour', async (t) => {
    await withSim({}, async (sim) => {
      const cases: Array<{ name: string; args: string[]; env: Record<string, string> }> = [
        { name: 'TERM=dumb', args: [], env: { TERM: 'dumb' } },
        { name: 'NO_COLOR', args: [], env: { NO_COLOR: '1' } },
        { name: '--color never', args: ['--color', 'never'], env: {} },
      ];
      const runs = cases.map((c) => ({ ...c, pty: startPty(t, ['--events', 'NewMail', '--max-events', '1', ...c.args], { cols: 100, env: envFor(sim, c.env) }) }));
      await sim.waitFor(() => sim.connections().length === runs.length, 15_000);
      sim.deliverMail({ subject: 'one' });
      for (const run of runs) {
        const r = await run.pty.result();
        assert.equal(r.code, 0, `${run.name}: ${JSON.stringify(r.output)}`);
        assert.doesNotMatch(r.output, sgr, run.name);
        assert.ok(screenLines(r.output).some((l) => / NewMail /.test(l)), run.name);
        if (run.name === 'TERM=dumb') {
          assert.doesNotMatch(r.output, /\u001b/, run.name);
          assert.doesNotMatch(r.output, /watching inbox/, run.name);
        } else {
          assert.match(r.output, /watching inbox of/, run.name);
        }
      }
    });
  });

  it('idle: the status line is redrawn only when its text changes (the heartbeat age, in 10-second steps), not animated', async (t) => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'heartbeat' }, { op: 'stall' }]);
      const pty = startPty(t, [], { cols: 100, env: envFor(sim) });
      await pty.waitFor(/heartbeat just now/, 'the heartbeat age');
      const mark = pty.output.length;
      const started = Date.now();
      await pty.waitFor((o) => o.slice(mark).includes('heartbeat 10 s ago'), 'ten seconds on');
      assert.ok(Date.now() - started >= 8000, `${Date.now() - started} ms`);
      // Some ten seconds idle: one redraw, when the age shown changed, nothing in between (the old spinner drew
      // about 120 frames, the per-second age ten).
      const idle = pty.output.slice(mark);
      assert.equal(count(idle, CLEAR), 1, JSON.stringify(idle));
      assert.deepEqual([...idle.matchAll(/heartbeat (just now|\d+ s ago)/g)].map((m) => m[1]), ['10 s ago']);
      await pty.signal('SIGINT');
      assert.equal((await pty.result()).code, 0);
    });
  });
});
