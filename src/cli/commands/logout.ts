// `ews-watch logout`: remove what login stored for this server and user (with --auth oauth, the token cache), and
// say whether anything was there. Nothing is sent to the server.

import { passwordAccount } from '../../auth/credential-store.js';
import { resolveCredentialConfig } from '../command-config.js';
import { EXIT } from '../exit-codes.js';
import type { CommandContext } from '../io-streams.js';
import { requireStore, warnOn, type LoginOptions } from './login.js';

export type LogoutOptions = LoginOptions;

export async function runLogoutCommand(ctx: CommandContext, opts: LogoutOptions): Promise<number> {
  // No orderly stop to make: a signal ends it as it ends any program.
  ctx.interrupts.handOver();
  const { io } = ctx;
  const { target, keychain } = resolveCredentialConfig(opts, io, warnOn(io));
  const { openStore } = await import('../stored-credentials.js');
  const opened = await requireStore(keychain, openStore);
  if (target.kind === 'oauth') {
    const { logoutOAuth } = await import('../../auth/oauth-login.js');
    const had = await logoutOAuth(opened.store, target.oauth.tenant, target.oauth.clientId);
    const what = `the Exchange Online sign-in for app ${target.oauth.clientId} in ${target.oauth.tenant}`;
    io.stderr.write(`ews-watch: ${had ? `removed ${what} from` : `nothing to remove: no ${what} in`} ${opened.store.where}\n`);
    return EXIT.ok;
  }
  const account = passwordAccount(target.url, target.user);
  const had = await opened.store.delete(account);
  const what = `password for ${target.user} at ${target.url.origin}`;
  io.stderr.write(`ews-watch: ${had ? `removed the ${what} from` : `nothing to remove: no ${what} in`} ${opened.store.describe(account)}\n`);
  return EXIT.ok;
}
