// `ews-watch login`: store a password (or, with --auth oauth, the token cache of a device-code sign-in) in the
// credential store, and say where it lives. Nothing is sent to the server: `ews-watch check` tries the stored
// password. Errors reach main's one-line report.

import { passwordAccount, type OpenedStore } from '../../auth/credential-store.js';
import { UsageError } from '../../errors.js';
import { cleanLines } from '../../base/sanitize.js';
import { resolveCredentialConfig, type CredentialConfig, type KeychainConfig } from '../command-config.js';
import { EXIT } from '../exit-codes.js';
import type { CommandContext, IOStreams } from '../io-streams.js';
import type { CredentialOptions } from '../program.js';
import { promptPassword, readPasswordFromStdin } from '../secrets.js';

export type LoginOptions = CredentialOptions;

export async function runLoginCommand(ctx: CommandContext, opts: LoginOptions): Promise<number> {
  // No orderly stop to make: a signal ends it as it ends any program.
  ctx.interrupts.handOver();
  const { io } = ctx;
  const config = resolveCredentialConfig(opts, io, warnOn(io));
  const { openStore, storedIn } = await import('../stored-credentials.js');
  const opened = await requireStore(config.keychain, openStore);
  const { target } = config;
  if (target.kind === 'oauth') {
    const { loginWithDeviceCode } = await import('../../auth/oauth-login.js');
    const result = await loginWithDeviceCode({ ...target.oauth, store: opened.store, write: (line) => void io.stderr.write(`${line}\n`) });
    // The user name comes from the identity provider's token: server text.
    io.stderr.write(`ews-watch: signed in as ${cleanLines(result.username)}; the token cache is ${storedIn(opened, result.storeAccount)}\n`);
    return EXIT.ok;
  }
  const account = passwordAccount(target.url, target.user);
  const password = await readPassword(config, io, target.user);
  await opened.store.set(account, password);
  io.stderr.write(`ews-watch: password for ${target.user} at ${target.url.origin} ${storedIn(opened, account)}\n`);
  return EXIT.ok;
}

/** .env's warnings, straight to stderr: login and logout have no logger. */
export function warnOn(io: Pick<IOStreams, 'stderr'>): (line: string) => void {
  return (line) => void io.stderr.write(`ews-watch: warning: ${cleanLines(line)}\n`);
}

export async function requireStore(keychain: KeychainConfig, openStore: (k: KeychainConfig) => Promise<OpenedStore | undefined>): Promise<OpenedStore> {
  const opened = await openStore(keychain);
  if (!opened) throw new UsageError('--keychain none (EWS_KEYCHAIN=none) turns the credential store off: there is nowhere to store or remove anything');
  return opened;
}

async function readPassword(config: CredentialConfig, io: Pick<IOStreams, 'stdin' | 'stderr'>, user: string): Promise<string> {
  let password: string | undefined;
  if (config.passwordStdin) password = await readPasswordFromStdin(io.stdin);
  else if (io.stdin.isTTY && io.stderr.isTTY) password = await promptPassword(io.stdin, io.stderr, `Password for ${user}: `);
  else throw new UsageError('login needs the password: run it on a terminal to be asked, or pipe it with --password-stdin');
  if (password === '') throw new UsageError('the password is empty; nothing was stored');
  return password;
}
