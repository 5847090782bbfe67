// `ews-watch check` with many mailboxes (src/cli/fleet-check.ts), in-process with a fake fleet transport: one
// Subscribe and Unsubscribe per mailbox under its group's anchor, one line each (ok, or the code and what to ask the
// admin), a summary, and the exit code.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCheckCommand } from '../../src/cli/commands/check.js';
import { buildProgram } from '../../src/cli/program.js';
import { guardStdout } from '../../src/cli/stdout.js';
import { AuthError, EwsResponseError } from '../../src/errors.js';
import type { FleetTransport, GroupClient } from '../../src/fleet/types.js';
import { createTestIo } from '../support/io-streams.js';

const URL_ARGS = ['--url', 'https://mail.contoso.com/EWS/Exchange.asmx', '--user', 'svc@contoso.com'];

/** Subscribe fails for these mailboxes with these errors; everyone else is fine. */
function fakeTransport(failures: Record<string, Error>) {
  const calls: string[] = [];
  let closed = 0;
  const transport: FleetTransport = {
    group(group): GroupClient {
      return {
        anchor: group.anchor,
        subscribe: async (mailbox) => {
          calls.push(`subscribe ${mailbox} under ${group.anchor}`);
          const failure = failures[mailbox];
          if (failure) throw failure;
          return `sub-${mailbox}`;
        },
        unsubscribe: async (mailbox, id) => void calls.push(`unsubscribe ${mailbox} ${id}`),
        openStream: async () => assert.fail('check opens no stream'),
        cookie: () => undefined,
        close: async () => void closed++,
      };
    },
    mailbox: () => assert.fail('check asks nothing outside the groups'),
    close: async () => undefined,
  };
  return { transport, calls, closed: () => closed };
}

async function check(argv: string[], fake: ReturnType<typeof fakeTransport>): Promise<{ code: number; stdout: string; stderr: string }> {
  const t = createTestIo(['check', ...argv], { env: { EWS_PASSWORD: 'not-a-real-password' } });
  const ctx = { io: t.io, interrupts: t.interrupts, out: guardStdout(t.io.stdout, t.io.stderr) };
  let code = -1;
  const program = buildProgram(
    {
      watch: async () => assert.fail('watch'),
      demo: async () => assert.fail('demo'),
      login: async () => assert.fail('login'),
      logout: async () => assert.fail('logout'),
      check: async (opts) => void (code = await runCheckCommand(ctx, opts, { transport: () => fake.transport })),
    },
    '0.0.0',
  );
  await program.parseAsync(['check', ...argv], { from: 'user' });
  return { code, stdout: t.stdout(), stderr: t.stderr() };
}

describe('check with many mailboxes', () => {
  it('one line per mailbox, then the summary; exit 1 when one failed, with what to ask the admin', async () => {
    const fake = fakeTransport({
      'bob@contoso.com': new EwsResponseError('ErrorImpersonateUserDenied', 'The account does not have permission to impersonate the requested user.'),
      'gone@contoso.com': new EwsResponseError('ErrorNonExistentMailbox', 'No mailbox with such guid.'),
    });
    const r = await check([...URL_ARGS, '--mailbox', 'ann@contoso.com,bob@contoso.com,gone@contoso.com'], fake);
    assert.equal(r.stderr, '');
    assert.equal(
      r.stdout,
      [
        'ok    ann@contoso.com   group none https://mail.contoso.com/EWS/Exchange.asmx #1, anchor ann@contoso.com',
        "FAIL  bob@contoso.com   ErrorImpersonateUserDenied: the account may not impersonate this mailbox: ask for ApplicationImpersonation over it (on premises) or for it to join the group of the app's access policy (Exchange Online)",
        'FAIL  gone@contoso.com  ErrorNonExistentMailbox: no mailbox has this address: check the list (a typo, a removed user, a contact rather than a mailbox)',
        '1 of 3 mailboxes ok, 2 failed',
        '',
      ].join('\n'),
    );
    assert.equal(r.code, 1);
    assert.deepEqual(fake.calls.filter((c) => c.startsWith('unsubscribe')), ['unsubscribe ann@contoso.com sub-ann@contoso.com']);
    assert.ok(fake.calls.every((c) => !c.startsWith('subscribe') || c.endsWith('under ann@contoso.com')), fake.calls.join('\n'));
    assert.equal(fake.closed(), 1);
  });

  it('all fine: exit 0; --shard checks only its part', async () => {
    const fake = fakeTransport({});
    const r = await check([...URL_ARGS, '--mailbox', 'a@contoso.com,b@contoso.com,c@contoso.com,d@contoso.com', '--shard', '0/1'], fake);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /\n4 of 4 mailboxes ok\n$/);
  });

  it('every sign-in refused: exit 4', async () => {
    const fake = fakeTransport({ 'a@contoso.com': new AuthError('401'), 'b@contoso.com': new AuthError('401') });
    const r = await check([...URL_ARGS, '--mailbox', 'a@contoso.com,b@contoso.com'], fake);
    assert.equal(r.code, 4);
    assert.match(r.stdout, /^FAIL {2}a@contoso.com {2}auth: the sign-in was refused/);
  });

  it('--live with many mailboxes: a usage error in one line, exit 2', async () => {
    const fake = fakeTransport({});
    const r = await check([...URL_ARGS, '--mailbox', 'a@contoso.com,b@contoso.com', '--live', '--yes'], fake);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'ews-watch: check --live tries one mailbox: pass one --mailbox (without --mailboxes-file or --shard)\n');
    assert.deepEqual(fake.calls, []);
  });
});
