// MSAL's token cache for a person's sign-in, kept in a secret store (the OS keychain through the credential store)
// under one entry per tenant and app. MSAL reads the entry before each cache access and writes it back only
// when something changed (a new access or refresh token), so a refresh in one run is seen by the next.

import type { ICachePlugin, TokenCacheContext } from '@azure/msal-node';

/** The few calls we need from a secret store; src/auth/credential-store.ts provides the real one. */
export interface SecretStore {
  get(account: string): Promise<string | undefined>;
  set(account: string, secret: string): Promise<void>;
  delete(account: string): Promise<unknown>;
}

/** The store entry that holds the token cache of one app in one tenant. */
export function tokenCacheAccount(tenant: string, clientId: string): string {
  return `oauth:${tenant.toLowerCase()}:${clientId.toLowerCase()}`;
}

export function createCachePlugin(store: SecretStore, account: string): ICachePlugin {
  return {
    async beforeCacheAccess(ctx: TokenCacheContext) {
      const saved = await store.get(account);
      if (saved) ctx.tokenCache.deserialize(saved);
    },
    async afterCacheAccess(ctx: TokenCacheContext) {
      if (ctx.cacheHasChanged) await store.set(account, ctx.tokenCache.serialize());
    },
  };
}

/** A store in memory (one process): the fallback when no keychain exists, and a test double. */
export function createMemoryStore(initial: Record<string, string> = {}): SecretStore & { readonly entries: Map<string, string> } {
  const entries = new Map(Object.entries(initial));
  return {
    entries,
    get: async (account) => entries.get(account),
    set: async (account, secret) => void entries.set(account, secret),
    delete: async (account) => entries.delete(account),
  };
}
