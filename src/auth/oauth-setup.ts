// From the resolved --auth oauth settings to a provider: reads the app's certificate file or takes the secret from
// the environment, and picks the person's token cache in the secret store. The CLI's only door into OAuth.

import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import type { SecretStore } from './oauth-cache.js';
import { createOAuthAuth, type AppCredential, type OAuthProvider } from './oauth.js';

/** The shape of ConnectionSettings.oauth (src/cli/config.ts). */
export interface OAuthCliSettings {
  tenant: string;
  clientId: string;
  app: boolean;
  clientCert?: string;
  authority?: string;
}

export interface OAuthCliInputs {
  /** EWS_CLIENT_SECRET, from the environment or .env (never a flag). */
  secret?: string;
  /** Which cached account to use (--user, else the mailbox). */
  username?: string;
  /** The person's token cache; absent → in memory for this run (then `login` must have happened in-process). */
  store?: SecretStore;
  log?: (line: string) => void;
}

export async function createOAuthForCli(s: OAuthCliSettings, i: OAuthCliInputs): Promise<OAuthProvider> {
  return createOAuthAuth({
    tenant: s.tenant,
    clientId: s.clientId,
    ...(s.authority ? { authority: s.authority } : {}),
    ...(s.app ? { app: await appCredential(s, i.secret) } : {}),
    ...(i.store ? { store: i.store } : {}),
    ...(i.username ? { username: i.username } : {}),
    ...(i.log ? { log: i.log } : {}),
  });
}

async function appCredential(s: OAuthCliSettings, secret: string | undefined): Promise<AppCredential> {
  if (!s.clientCert) {
    if (!secret) throw new UsageError('the OAuth app flow needs EWS_CLIENT_SECRET or --client-cert');
    return { kind: 'secret', secret };
  }
  try {
    return { kind: 'certificate', pem: await readFile(s.clientCert, 'utf8') };
  } catch (err) {
    throw new UsageError(`--client-cert: cannot read ${s.clientCert}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}
