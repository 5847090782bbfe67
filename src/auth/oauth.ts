// OAuth 2.0 for Exchange Online through MSAL (loaded lazily): a person signed in once by `ews-watch login`
// (device code; later runs refresh silently from the token cache) or an app (client credentials with a secret or
// a certificate). Request-oriented: authorization() gives `Bearer <token>`, renewed ahead of expiry; refresh()
// forces a new token after a 401. Production uses MSAL's own network path; only tests pass a networkClient.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { AccountInfo, AuthenticationResult, Configuration, INetworkModule, LogLevel } from '@azure/msal-node';
import { AuthError, UsageError } from '../errors.js';
import { createCachePlugin, createMemoryStore, tokenCacheAccount, type SecretStore } from './oauth-cache.js';
import { exchangeRefusalAdvice, fromMsalError, loginCommand, type OAuthErrorContext } from './oauth-errors.js';
import type { AuthProvider } from './types.js';

export const EWS_DELEGATED_SCOPE = 'https://outlook.office365.com/EWS.AccessAsUser.All';
export const EWS_APP_SCOPE = 'https://outlook.office365.com/.default';
export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';
/** Renew this long before expiry (MSAL's own default), or a quarter of the lifetime when tokens live shorter. */
const RENEW_AHEAD_MS = 5 * 60_000;

export type AppCredential = { kind: 'secret'; secret: string } | { kind: 'certificate'; pem: string };

export interface OAuthOptions {
  tenant: string;
  clientId: string;
  /** Present: an app (client credentials). Absent: a person signed in with `ews-watch login --auth oauth`. */
  app?: AppCredential;
  /** Default https://login.microsoftonline.com/<tenant>; another for sovereign clouds or tests. */
  authority?: string;
  /** The person's token cache (the OS keychain); without one it lives in memory for this run only. */
  store?: SecretStore;
  /** The person's account (UPN) when the cache holds several. */
  username?: string;
  now?: () => number;
  /** MSAL's diagnostics (never with personal data); debug lines. */
  log?: (line: string) => void;
  /** Tests only: MSAL's network module. Production code never sets it. */
  networkClient?: INetworkModule;
}

export interface OAuthProvider extends AuthProvider {
  /** Forces a new token (after a 401); throws AuthError when the identity platform refuses. */
  refresh(): Promise<boolean>;
  /** What to do when Exchange refuses a fresh token (401 after a refresh, or 403). */
  advice(status: number): string;
}

interface Held {
  token: string;
  expiresAt: number;
  obtainedAt: number;
}

export function resolveAuthority(tenant: string, authority: string | undefined): string {
  const text = authority ?? `${DEFAULT_AUTHORITY_HOST}/${tenant}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch (err) {
    throw new UsageError(`--authority is not a URL: ${JSON.stringify(text)}`, { cause: err });
  }
  if (url.protocol !== 'https:') throw new UsageError(`--authority must be an https URL, got ${url.protocol}`);
  return text.replace(/\/+$/, '');
}

/** MSAL's configuration: a custom authority is trusted as is (no instance discovery against Microsoft's list). */
export function buildMsalConfiguration(o: OAuthOptions, authority: string, cacheAccount: string): Configuration {
  const store = o.store;
  return {
    auth: {
      clientId: o.clientId,
      authority,
      ...(o.authority !== undefined ? { knownAuthorities: [authority] } : {}),
      ...appCredentials(o.app),
    },
    ...(!o.app && store ? { cache: { cachePlugin: createCachePlugin(store, cacheAccount) } } : {}),
    system: {
      loggerOptions: {
        piiLoggingEnabled: false,
        // LogLevel.Warning; the enum itself is only loaded with MSAL.
        logLevel: 1 as LogLevel,
        loggerCallback: (_level: LogLevel, message: string) => o.log?.(`msal: ${message}`),
      },
      ...(o.networkClient ? { networkClient: o.networkClient } : {}),
    },
  };
}

function appCredentials(app: AppCredential | undefined): Partial<Configuration['auth']> {
  if (!app) return {};
  if (app.kind === 'secret') return { clientSecret: app.secret };
  return { clientCertificate: parseCertificatePem(app.pem) };
}

/** --client-cert: one PEM file with the unencrypted private key and the certificate registered with the app. */
export function parseCertificatePem(pem: string): { thumbprintSha256: string; privateKey: string; x5c: string } {
  const certBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
  const keyBlock = /-----BEGIN (RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (RSA |EC )?PRIVATE KEY-----/.exec(pem)?.[0];
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(pem) && !keyBlock) {
    throw new UsageError('--client-cert: the private key is encrypted; write an unencrypted copy (openssl pkey -in key.pem -out plain.pem) and protect the file instead');
  }
  if (!certBlock || !keyBlock) throw new UsageError('--client-cert must be a PEM file holding both the private key and the certificate (-----BEGIN CERTIFICATE----- and -----BEGIN PRIVATE KEY-----)');
  try {
    const cert = new X509Certificate(certBlock);
    const privateKey = createPrivateKey(keyBlock).export({ type: 'pkcs8', format: 'pem' }).toString();
    return { thumbprintSha256: cert.fingerprint256.replace(/:/g, '').toLowerCase(), privateKey, x5c: certBlock };
  } catch (err) {
    throw new UsageError(`--client-cert: cannot read the certificate or key: ${(err as Error).message}`, { cause: err });
  }
}

export async function createOAuthAuth(o: OAuthOptions): Promise<OAuthProvider> {
  const authority = resolveAuthority(o.tenant, o.authority);
  const ctx: OAuthErrorContext = { app: o.app !== undefined, tenant: o.tenant, clientId: o.clientId, authority };
  const config = buildMsalConfiguration({ ...o, store: o.store ?? createMemoryStore() }, authority, tokenCacheAccount(o.tenant, o.clientId));
  const now = o.now ?? Date.now;
  const acquire = o.app ? await appAcquirer(config, o) : await personAcquirer(config, o);
  const secrets: string[] = o.app?.kind === 'secret' ? [o.app.secret] : [];
  if (o.app?.kind === 'certificate') secrets.push((config.auth.clientCertificate as { privateKey: string }).privateKey);
  let held: Held | undefined;
  let pending: Promise<Held> | undefined;

  const renew = (force: boolean): Promise<Held> => {
    pending ??= (async () => {
      try {
        const result = await acquire(force);
        const obtainedAt = now();
        const next = { token: result.accessToken, obtainedAt, expiresAt: result.expiresOn ? result.expiresOn.getTime() : obtainedAt + 3600_000 };
        // Tokens change; the Authorization header is redacted anyway, and this keeps the value out of messages.
        secrets.push(next.token);
        if (secrets.length > 8) secrets.splice(o.app ? 1 : 0, 1);
        held = next;
        return next;
      } catch (err) {
        throw err instanceof AuthError || err instanceof UsageError ? err : fromMsalError(err, ctx);
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };

  return {
    scheme: 'oauth',
    secrets,
    async authorization() {
      const h = held && !dueForRenewal(held, now()) ? held : await renew(held !== undefined);
      return `Bearer ${h.token}`;
    },
    async refresh() {
      await renew(true);
      return true;
    },
    advice: (status) => exchangeRefusalAdvice(status, ctx),
  };
}

/** true when a token should be renewed before it is used: within 5 minutes of expiry, or a quarter of a shorter lifetime. */
export function dueForRenewal(h: Held, now: number): boolean {
  const ahead = Math.min(RENEW_AHEAD_MS, Math.max(0, h.expiresAt - h.obtainedAt) / 4);
  return now >= h.expiresAt - ahead;
}

type Acquire = (force: boolean) => Promise<AuthenticationResult>;

async function appAcquirer(config: Configuration, o: OAuthOptions): Promise<Acquire> {
  const { ConfidentialClientApplication } = await import('@azure/msal-node');
  const cca = new ConfidentialClientApplication(config);
  return async (force) => {
    const result = await cca.acquireTokenByClientCredential({ scopes: [EWS_APP_SCOPE], skipCache: force });
    if (!result) throw new AuthError(`the Microsoft identity platform gave app ${o.clientId} no token; check --client-id and --tenant`);
    return result;
  };
}

async function personAcquirer(config: Configuration, o: OAuthOptions): Promise<Acquire> {
  const { PublicClientApplication } = await import('@azure/msal-node');
  const pca = new PublicClientApplication(config);
  let account: AccountInfo | undefined;
  return async (force) => {
    account ??= pickAccount(await pca.getTokenCache().getAllAccounts(), o);
    return pca.acquireTokenSilent({ account, scopes: [EWS_DELEGATED_SCOPE], forceRefresh: force });
  };
}

export function pickAccount(accounts: readonly AccountInfo[], o: Pick<OAuthOptions, 'tenant' | 'clientId' | 'username'>): AccountInfo {
  const wanted = o.username?.toLowerCase();
  const matching = wanted ? accounts.filter((a) => a.username.toLowerCase() === wanted) : accounts;
  if (matching.length === 1) return matching[0]!;
  if (matching.length === 0) {
    const who = wanted ? ` as ${o.username}` : '';
    throw new AuthError(`not signed in to Exchange Online${who} with app ${o.clientId}: run ${loginCommand(o)} first`);
  }
  throw new UsageError(`the token cache holds several accounts (${matching.map((a) => a.username).join(', ')}): pass --user to choose one`);
}
