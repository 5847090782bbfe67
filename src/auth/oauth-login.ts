// `ews-watch login --auth oauth`: a person signs in once with the device-code flow (the code and the page are
// printed; MSAL polls until the sign-in completes) and MSAL's token cache goes to the secret store. `logout`
// removes it. Later runs refresh silently from that cache (src/auth/oauth.ts).

import type { SecretStore } from './oauth-cache.js';
import { tokenCacheAccount } from './oauth-cache.js';
import { EWS_DELEGATED_SCOPE, buildMsalConfiguration, resolveAuthority, type OAuthOptions } from './oauth.js';
import { fromMsalError } from './oauth-errors.js';
import { stripControl } from '../base/sanitize.js';

export interface DeviceCodeLoginOptions extends Omit<OAuthOptions, 'app' | 'store' | 'username' | 'now'> {
  store: SecretStore;
  /** Where the instructions go (stderr: stdout stays for data). */
  write: (line: string) => void;
  /** Aborting stops the polling. */
  signal?: AbortSignal;
}

export interface LoginResult {
  /** The signed-in account (UPN), as the identity platform names it. */
  username: string;
  /** The secret-store entry that now holds the token cache. */
  storeAccount: string;
}

export async function loginWithDeviceCode(o: DeviceCodeLoginOptions): Promise<LoginResult> {
  const authority = resolveAuthority(o.tenant, o.authority);
  const storeAccount = tokenCacheAccount(o.tenant, o.clientId);
  const { PublicClientApplication } = await import('@azure/msal-node');
  const pca = new PublicClientApplication(buildMsalConfiguration(o, authority, storeAccount));
  const request = {
    scopes: [EWS_DELEGATED_SCOPE],
    cancel: false,
    // The message comes from the server: printable text only, bounded.
    deviceCodeCallback: (r: { message: string }) => o.write(stripControl(r.message).slice(0, 500)),
  };
  const onAbort = (): void => void (request.cancel = true);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const result = await pca.acquireTokenByDeviceCode(request);
    return { username: stripControl(result?.account?.username ?? '(unknown account)'), storeAccount };
  } catch (err) {
    throw fromMsalError(err, { app: false, tenant: o.tenant, clientId: o.clientId, authority });
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
}

/** Forgets the person's token cache for this tenant and app; true when there was one. */
export async function logoutOAuth(store: SecretStore, tenant: string, clientId: string): Promise<boolean> {
  const account = tokenCacheAccount(tenant, clientId);
  const had = (await store.get(account)) !== undefined;
  await store.delete(account);
  return had;
}
