// Secrets echoed back by the server, end to end: the simulator answers with error pages that list the request's
// headers (an HTML page, or a SOAP fault whose MessageText holds them) on Subscribe, on the first catch-up
// SyncFolderItems and on GetStreamingEvents (the stream connection). For every way of signing in (basic, auto
// choosing Basic, ntlm, auto choosing NTLM, token, OAuth with a client secret), with and without -v, and for
// `check`, neither stdout nor stderr may carry the password, a credential the client sent (or a piece of one), or
// a cookie value, while the warning still says what happened.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Simulator, SimulatorOptions } from '../../src/simulator/types.js';
import { runCli, type CliResult } from '../support/cli.js';
import { startFakeIdentity, type FakeIdentity } from '../support/fake-identity.js';
import { parseLines, requestsOf, withSim } from './helpers.js';

const TOKEN = 'tok-Echo.9f2Kx7Qw3Lm5Zp8Rt1Vb6Nc4Hd0Jg';

interface Scheme {
  name: string;
  /** The word the Authorization header starts with. */
  word: 'Basic' | 'NTLM' | 'Bearer';
  sim: SimulatorOptions;
  oauth?: boolean;
  args: string[];
  env(sim: Simulator, idp?: FakeIdentity): Record<string, string>;
}

const password = (sim: Simulator, extra: Record<string, string> = {}): Record<string, string> => ({
  EWS_URL: sim.url,
  EWS_USER: sim.credentials.user,
  EWS_PASSWORD: sim.credentials.password,
  ...extra,
});

const SCHEMES: Scheme[] = [
  { name: '--auth basic', word: 'Basic', sim: {}, args: ['--auth', 'basic'], env: (sim) => password(sim) },
  { name: '--auth auto (Basic offered)', word: 'Basic', sim: { auth: { ntlm: false } }, args: [], env: (sim) => password(sim) },
  { name: '--auth ntlm', word: 'NTLM', sim: {}, args: ['--auth', 'ntlm'], env: (sim) => password(sim) },
  { name: '--auth auto (NTLM offered)', word: 'NTLM', sim: {}, args: [], env: (sim) => password(sim) },
  { name: '--auth token', word: 'Bearer', sim: { tokens: [TOKEN] }, args: ['--auth', 'token'], env: (sim) => ({ EWS_URL: sim.url, EWS_MAILBOX: sim.mailboxAddress, EWS_ACCESS_TOKEN: TOKEN }) },
  {
    name: '--auth oauth (app with a client secret)',
    word: 'Bearer',
    sim: {},
    oauth: true,
    args: [],
    env: (sim, idp) => ({
      EWS_URL: sim.url,
      EWS_AUTH: 'oauth',
      EWS_TENANT_ID: idp!.tenant,
      EWS_CLIENT_ID: idp!.clientId,
      EWS_CLIENT_SECRET: idp!.clientSecret,
      EWS_MAILBOX: sim.mailboxAddress,
      EWS_AUTHORITY: idp!.authority,
      NODE_EXTRA_CA_CERTS: idp!.caFile,
    }),
  },
];

/** A simulator (and for OAuth the fake identity platform whose tokens it accepts) for one run. */
async function withServers<T>(scheme: Scheme, fn: (sim: Simulator, idp?: FakeIdentity) => Promise<T>): Promise<T> {
  if (!scheme.oauth) return withSim(scheme.sim, (sim) => fn(sim));
  const idp = await startFakeIdentity();
  try {
    return await withSim({ ...scheme.sim, acceptToken: (t) => idp.isValid(t) }, (sim) => fn(sim, idp));
  } finally {
    await idp.close();
  }
}

/** Everything secret the client sent or knows: credentials from the requests the server saw, cookies, the password. */
function secretsOf(sim: Simulator, idp?: FakeIdentity): { pieces: string[]; whole: string[] } {
  const pieces = new Set<string>();
  const whole = new Set<string>();
  for (const q of sim.requests) {
    const auth = q.headers.authorization;
    if (auth) pieces.add(auth.replace(/^\S+\s+/, ''));
    for (const part of (q.headers.cookie ?? '').split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0) whole.add(part.slice(eq + 1).trim());
    }
  }
  pieces.add(sim.credentials.password);
  pieces.add(Buffer.from(`${sim.credentials.user}:${sim.credentials.password}`).toString('base64'));
  pieces.add(TOKEN);
  if (idp) [idp.clientSecret, ...idp.issued()].forEach((s) => pieces.add(s));
  return { pieces: [...pieces], whole: [...whole] };
}

/**
 * What of the secrets shows in `text`: a whole cookie value; for the others, the whole value, its first 9
 * characters, or any 16 in a row (runs of nearly one character, like the zeros in NTLM messages, are not secret).
 */
function leaksIn(text: string, s: { pieces: string[]; whole: string[] }): string[] {
  const found: string[] = [];
  const hint = (v: string): string => `${v.slice(0, 4)}… (${v.length} chars)`;
  for (const v of s.whole) if (text.includes(v)) found.push(`cookie ${hint(v)}`);
  for (const v of s.pieces) {
    if (text.includes(v) || text.includes(v.slice(0, 9))) {
      found.push(`${hint(v)} or its start`);
      continue;
    }
    for (let i = 0; i + 16 <= v.length; i++) {
      const w = v.slice(i, i + 16);
      if (new Set(w).size >= 5 && text.includes(w)) {
        found.push(`16 characters of ${hint(v)} at ${i}`);
        break;
      }
    }
  }
  return found;
}

function assertNothingLeaked(r: CliResult, sim: Simulator, idp?: FakeIdentity): void {
  const secrets = secretsOf(sim, idp);
  assert.ok(secrets.whole.length > 0 || requestsOf(sim, 'SyncFolderItems').length === 0, 'the client replayed cookies');
  assert.deepEqual(leaksIn(r.stdout, secrets), [], `stdout:\n${r.stdout}`);
  assert.deepEqual(leaksIn(r.stderr, secrets), [], 'stderr leaks');
}

describe('a server that echoes the request headers never gets a secret printed', { concurrency: 2 }, () => {
  for (const scheme of SCHEMES) {
    for (const verbose of [false, true]) {
      it(`${scheme.name}${verbose ? ' -v' : ''}: Subscribe, SyncFolderItems and GetStreamingEvents echo, nothing leaks`, async () => {
        await withServers(scheme, async (sim, idp) => {
          sim.script('Subscribe', { echo: 'html' });
          sim.script('SyncFolderItems', { echo: 'fault', backOffMs: 50 });
          // OAuth: the stream's first try is refused, the token refreshed, and the new one is echoed.
          sim.script('GetStreamingEvents', ...(scheme.oauth ? [{ status: 401 }] : []), { echo: 'fault', backOffMs: 50 }, [{ op: 'newMail' }, { op: 'stall' }]);
          const args = ['--json', ...(verbose ? ['-v'] : []), ...scheme.args, '--max-events', '1', '--events', 'NewMail'];
          // The three scripted failures are waited out at a twentieth of the real back-off (1 s, 2 s, 4 s), except for
          // the first scheme without -v, which keeps the production timings end to end.
          const real = scheme === SCHEMES[0] && !verbose;
          const r = await runCli(args, { env: { ...scheme.env(sim, idp), ...(real ? {} : { EWS_WATCH_BACKOFF_PERCENT: '5' }) } });
          assert.equal(r.code, 0, r.stderr);
          assert.deepEqual(parseLines(r.stdout).map((l) => l.event), ['NewMail']);
          assert.equal(sim.pendingScripts('GetStreamingEvents'), 0, 'every echo was served');
          assertNothingLeaked(r, sim, idp);
          // Still useful: what failed, how, and the page's own words.
          assert.match(r.stderr, /warning: Subscribe: .*HTTP 500.*\(500 Internal Server Error Request headers: accept: text\/xml/);
          assert.match(r.stderr, /warning: SyncFolderItems: ErrorInternalServerError: The request could not be forwarded\. Request headers: .*cookie: X-BackEndOverrideCookie=\[redacted\]/);
          // Only secrets go: the mailbox in X-AnchorMailbox stays.
          assert.match(r.stderr, new RegExp(`SyncFolderItems: .* x-anchormailbox: ${sim.mailboxAddress.replace(/\./g, '\\.')} `));
          assert.match(r.stderr, new RegExp(`warning: GetStreamingEvents: ErrorInternalServerError: .*authorization: ${scheme.word} \\[redacted\\]`));
          if (scheme.oauth) assert.equal(idp!.issued().length, 2, 'a second token was obtained mid-run');
          if (verbose) assert.match(r.stderr, new RegExp(`> authorization: ${scheme.word} \\[redacted\\]`));
        });
      });
    }
  }
});

describe('check against a server that echoes the request headers', { concurrency: 2 }, () => {
  for (const scheme of SCHEMES) {
    it(`${scheme.name}: the FAIL line on stdout and -v on stderr carry no secret`, async () => {
      await withServers(scheme, async (sim, idp) => {
        sim.script('Subscribe', { echo: 'html' }, { echo: 'fault' });
        const page = await runCli(['check', ...scheme.args], { env: scheme.env(sim, idp) });
        const fault = await runCli(['check', '-v', ...scheme.args], { env: scheme.env(sim, idp) });
        for (const r of [page, fault]) {
          assert.equal(r.code, 1, r.stderr);
          assertNothingLeaked(r, sim, idp);
        }
        assert.equal(page.stderr, '');
        assert.match(page.stdout, /\nFAIL {2}sign-in and Subscribe: .*HTTP 500.*Request headers: accept: text\/xml/);
        assert.match(fault.stdout, new RegExp(`\\nFAIL {2}sign-in and Subscribe: ErrorInternalServerError: .*authorization: ${scheme.word} \\[redacted\\]`));
        assert.match(fault.stderr, new RegExp(`> authorization: ${scheme.word} \\[redacted\\]`));
      });
    });
  }
});
