// `--user CONTOSO\alice` without --mailbox, end to end: the built CLI signs in with NTLM, finds the primary SMTP
// address from the simulator (GetFolder root + ConvertId; ResolveNames when ConvertId fails), and uses it for every
// event, for X-AnchorMailbox from then on and for the state directory; a server that tells neither gets exit 2 with
// one line naming the user as given. `check` shows the found mailbox and how it was found.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { mailboxDirName } from '../../src/state/paths.js';
import { runCli, startCli } from '../support/cli.js';
import { validateEwsRequests } from '../support/schema.js';
import { sharedDir } from '../support/shared.js';
import { allRequests, parseLines, requestsOf, withSim } from './helpers.js';

const ntlm = (user: string, extra: string[] = []) => ['--json', '--auth', 'ntlm', '--user', user, '--events', 'NewMail', ...extra];

describe('the mailbox of a DOMAIN\\user sign-in, found from the server', { concurrency: 2 }, () => {
  it('--user CONTOSO\\alice --auth ntlm, no --mailbox: ConvertId of the root folder; every event, the anchor and the state use it', async () => {
    await withSim({}, async (sim) => {
      const stateDir = mkdtempSync(join(tmpdir(), 'ews-watch-found-'));
      try {
        const run = startCli([...ntlm('CONTOSO\\alice', ['--max-events', '2']), '-v'], { env: { EWS_URL: sim.url, EWS_PASSWORD: sim.credentials.password, EWS_STATE_DIR: stateDir } });
        await sim.waitFor(() => sim.connections().length > 0, 15_000);
        sim.deliverMail({ subject: 'one' });
        sim.deliverMail({ subject: 'two' });
        const r = await run.result();
        assert.equal(r.code, 0, r.stderr);
        const lines = parseLines(r.stdout);
        assert.equal(lines.length, 2);
        for (const line of lines) assert.equal(line.mailbox, 'alice@contoso.com');
        assert.match(r.stderr, /^ews-watch: mailbox: alice@contoso\.com \(from ConvertId of the root folder\)$/m);
        // Signed in first, then GetFolder root (IdOnly) and ConvertId, then Subscribe: the first two without an anchor.
        const ops = sim.requests.filter((q) => q.operation !== '').map((q) => q.operation);
        assert.deepEqual(ops.slice(0, 3), ['GetFolder', 'ConvertId', 'Subscribe']);
        const [getFolder, convert, subscribe] = ['GetFolder', 'ConvertId', 'Subscribe'].map((op) => requestsOf(sim, op)[0]!);
        assert.match(getFolder.body, /<m:FolderShape><t:BaseShape>IdOnly<\/t:BaseShape><\/m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="root"\/>/);
        assert.match(convert.body, new RegExp(`<t:AlternateId Format="EwsId" Id="${sim.folder('root')!.id.replace(/[+/=]/g, '\\$&')}" Mailbox="nobody@example\\.com"/>`));
        assert.equal(getFolder.headers['x-anchormailbox'], undefined);
        assert.equal(convert.headers['x-anchormailbox'], undefined);
        assert.equal(subscribe.headers['x-anchormailbox'], 'alice@contoso.com');
        assert.equal(subscribe.headers['x-preferserveraffinity'], 'true');
        for (const q of requestsOf(sim, 'GetStreamingEvents')) assert.equal(q.headers['x-anchormailbox'], 'alice@contoso.com');
        // NTLM still signs in once per connection, as CONTOSO\alice.
        assert.equal(sim.ntlm.logins.length, 2);
        assert.deepEqual([...new Set(sim.ntlm.logins.map((l) => `${l.domain}\\${l.user}`))], ['CONTOSO\\alice']);
        // The state directory is the found mailbox's.
        assert.deepEqual(readdirSync(stateDir), [mailboxDirName('alice@contoso.com')]);
      } finally {
        rmSync(stateDir, { recursive: true, force: true });
      }
    });
  });

  it('ConvertId not served: ResolveNames of the account name finds an address that is not the user name', async () => {
    await withSim({ user: 'CONTOSO\\asmith', mailbox: 'Alice.Smith@contoso.com', identity: { convertId: 'unsupported' } }, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli([...ntlm('CONTOSO\\asmith', ['--max-events', '1']), '-v'], { env: { EWS_URL: sim.url, EWS_PASSWORD: sim.credentials.password } });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(parseLines(r.stdout).map((l) => l.mailbox), ['Alice.Smith@contoso.com']);
      assert.match(r.stderr, /^ews-watch: mailbox: ConvertId gave no address: ConvertId: ErrorInvalidRequest: This server does not implement ConvertId\.$/m);
      assert.match(r.stderr, /^ews-watch: mailbox: Alice\.Smith@contoso\.com \(from ResolveNames of asmith\)$/m);
      assert.match(requestsOf(sim, 'ResolveNames')[0]!.body, /<m:UnresolvedEntry>asmith<\/m:UnresolvedEntry>/);
      assert.equal(requestsOf(sim, 'Subscribe')[0]!.headers['x-anchormailbox'], 'Alice.Smith@contoso.com');
    });
  });

  it('a server that answers neither: exit 2, one line naming the user as given, nothing on stdout, no Subscribe', async () => {
    await withSim({ user: 'CONTOSO\\bob', mailbox: 'bob@contoso.com', identity: { convertId: 'unsupported', resolveNames: 'no-results' } }, async (sim) => {
      const r = await runCli(ntlm('CONTOSO\\bob'), { env: { EWS_URL: sim.url, EWS_PASSWORD: sim.credentials.password } });
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      assert.equal(
        r.stderr,
        'ews-watch: cannot find the SMTP address of CONTOSO\\bob: the server answered neither ConvertId nor ResolveNames with it (-v says more); pass --mailbox bob@contoso.com or set EWS_MAILBOX\n',
      );
      assert.deepEqual(requestsOf(sim, 'ResolveNames').map((q) => /<m:UnresolvedEntry>([^<]*)</.exec(q.body)?.[1]), ['bob', 'CONTOSO\\bob']);
      assert.equal(requestsOf(sim, 'Subscribe').length, 0);
    });
  });

  it('a wrong password is still an authentication failure (exit 4), not a missing mailbox', async () => {
    await withSim({ user: 'CONTOSO\\bob', mailbox: 'bob@contoso.com' }, async (sim) => {
      const r = await runCli(ntlm('CONTOSO\\bob'), { env: { EWS_URL: sim.url, EWS_PASSWORD: 'not-the-password' } });
      assert.equal(r.code, 4);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^ews-watch: GetFolder: the server rejected the credentials of CONTOSO\\bob \(HTTP 401\)[^\n]*\n$/);
      assert.equal(requestsOf(sim, 'ConvertId').length, 0);
    });
  });

  it('--mailbox (or EWS_MAILBOX) with a DOMAIN\\user: nothing to find, the given address is used', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(ntlm('CONTOSO\\alice', ['--max-events', '1']), { env: { EWS_URL: sim.url, EWS_PASSWORD: sim.credentials.password, EWS_MAILBOX: 'alice@contoso.com' } });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseLines(r.stdout)[0]?.mailbox, 'alice@contoso.com');
      assert.equal(requestsOf(sim, 'ConvertId').length + requestsOf(sim, 'ResolveNames').length, 0);
      assert.equal(sim.requests.find((q) => q.operation === 'Subscribe')?.headers['x-anchormailbox'], 'alice@contoso.com');
    });
  });

  it('check with CONTOSO\\alice shows the mailbox found and how; without an answer, one FAIL line and exit 2', async () => {
    await withSim({}, async (sim) => {
      const r = await runCli(['check', '--auth', 'ntlm', '--user', 'CONTOSO\\alice'], { env: { EWS_URL: sim.url, EWS_PASSWORD: sim.credentials.password } });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, /\n {2}user {6}CONTOSO\\alice {2}\(flag\)\n {2}mailbox {3}alice@contoso\.com {2}\(found with ConvertId of the root folder\)\n/);
      assert.match(r.stdout, /\nok {4}Subscribe to inbox: \d+ ms\n/);
      assert.equal(requestsOf(sim, 'Subscribe')[0]!.headers['x-anchormailbox'], 'alice@contoso.com');
    });
    await withSim({ user: 'CONTOSO\\bob', mailbox: 'bob@contoso.com', identity: { convertId: 'unsupported', resolveNames: 'unsupported' } }, async (sim) => {
      const r = await runCli(['check', '--auth', 'ntlm', '--user', 'CONTOSO\\bob'], { env: { EWS_URL: sim.url, EWS_PASSWORD: sim.credentials.password } });
      assert.equal(r.code, 2);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, /\n {2}mailbox {3}\? {2}\(to be found after sign-in\)\n/);
      assert.deepEqual(r.stdout.split('\n').filter((l) => l.startsWith('FAIL')), [
        'FAIL  sign-in and finding the mailbox: cannot find the SMTP address of CONTOSO\\bob: the server answered neither ConvertId nor ResolveNames with it (-v says more); pass --mailbox bob@contoso.com or set EWS_MAILBOX',
      ]);
      assert.equal(requestsOf(sim, 'Subscribe').length, 0);
    });
  });
});

describe('requests against the schema', () => {
  it("every GetFolder, ConvertId and ResolveNames these tests sent is valid against Microsoft's EWS schema", async (t) => {
    if (!sharedDir()) return t.skip('../shared not found: schema validation skipped');
    const asked = allRequests.filter((r) => ['GetFolder', 'ConvertId', 'ResolveNames'].includes(r.operation));
    assert.deepEqual([...new Set(asked.map((r) => r.operation))].sort(), ['ConvertId', 'GetFolder', 'ResolveNames']);
    // One xmllint run for all of them; each request is still judged on its own.
    const checked = [...new Set(asked.map((r) => r.body))];
    const results = await validateEwsRequests(checked);
    checked.forEach((body, i) => {
      const v = results[i]!;
      assert.equal(v.valid, true, `${v.errors.join('\n')}\n${body}`);
    });
  });
});
