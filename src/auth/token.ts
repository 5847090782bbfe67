// A ready bearer token (EWS_ACCESS_TOKEN, --auth token): sent as is; nothing to refresh.

import type { AuthProvider } from './types.js';

export function createTokenAuth(token: string): AuthProvider {
  return {
    scheme: 'token',
    authorization: async () => `Bearer ${token}`,
    secrets: [token],
  };
}
