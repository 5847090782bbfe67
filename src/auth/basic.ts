// HTTP Basic: `Authorization: Basic base64(user:password)`. The CLI refuses it over plain HTTP except to loopback.

import type { AuthProvider } from './types.js';

export function createBasicAuth(user: string, password: string): AuthProvider {
  const encoded = Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
  const header = `Basic ${encoded}`;
  return {
    scheme: 'basic',
    authorization: async () => header,
    secrets: [password, encoded],
  };
}
