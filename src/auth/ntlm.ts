// NTLM (NTLMv2 only) for on-premises Exchange. NTLM authenticates a keep-alive connection, not a request: the
// transport (src/transport/http.ts) runs the three-message handshake on each of its connections and redoes it
// when a connection is replaced. This file only makes the messages; the hashes and message layout come from
// @ewsjs/ntlm-client, which brings its own MD4 (Node's OpenSSL 3 refuses MD4), loaded only when NTLM is used.

import { hostname } from 'node:os';
import type NtlmClient from '@ewsjs/ntlm-client';
import { AuthError } from '../errors.js';
import type { AuthProvider, ConnectionHandshake } from './types.js';

/** `CONTOSO\alice` → domain CONTOSO, user alice; `alice@contoso.com` → the whole UPN as user, no domain. */
export function splitNtlmUser(name: string): { user: string; domain: string } {
  const slash = name.indexOf('\\');
  if (slash > 0) return { domain: name.slice(0, slash), user: name.slice(slash + 1) };
  return { user: name, domain: '' };
}

/** The NetBIOS-style workstation name Windows sends: the short host name, upper case, at most 15 characters. */
function workstationName(): string {
  return (hostname().split('.')[0] ?? '').replace(/[^A-Za-z0-9-]/g, '').toUpperCase().slice(0, 15);
}

/** The base64 token of the first `NTLM <token>` offer in WWW-Authenticate (one header or several). */
export function ntlmChallengeOf(wwwAuthenticate: string | string[] | undefined): string | undefined {
  const values = Array.isArray(wwwAuthenticate) ? wwwAuthenticate : wwwAuthenticate ? [wwwAuthenticate] : [];
  for (const v of values) {
    for (const part of v.split(',')) {
      const m = /^\s*NTLM\s+([A-Za-z0-9+/=]+)\s*$/i.exec(part);
      if (m) return m[1];
    }
  }
  return undefined;
}

/** The NTLM maths, loaded at the first NTLM sign-in: a run with Basic, a token or OAuth never reads its code. */
async function loadNtlmMaths(): Promise<typeof NtlmClient> {
  // A CommonJS module: named imports are not visible to Node's ESM loader.
  return (await import('@ewsjs/ntlm-client')).default;
}

export async function createNtlmAuth(name: string, password: string): Promise<AuthProvider> {
  const { user, domain } = splitNtlmUser(name);
  if (!user) throw new AuthError(`NTLM needs a user name like CONTOSO\\alice or alice@contoso.com, got ${JSON.stringify(name)}`);
  const { createType1Message, createType3Message, decodeType2Message } = await loadNtlmMaths();
  const workstation = workstationName();
  const handshake: ConnectionHandshake = {
    negotiate: () => createType1Message(workstation, domain),
    authenticate(wwwAuthenticate) {
      const token = ntlmChallengeOf(wwwAuthenticate);
      if (!token) throw new AuthError('the server answered the NTLM negotiation without an NTLM challenge; is NTLM enabled on the EWS virtual directory?', { status: 401 });
      let type2;
      try {
        type2 = decodeType2Message(token);
      } catch {
        throw new AuthError('the server sent an NTLM challenge that cannot be read', { status: 401 });
      }
      // NTLMv1 answers can be cracked offline; without target info there is no NTLMv2 answer to give.
      if (type2.version !== 2 || !type2.targetInfo) {
        throw new AuthError('the server asks for NTLMv1, which ews-watch refuses (it exposes the password hash); enable NTLMv2 on the server (LmCompatibilityLevel 3 or higher) or use --auth basic over https', { status: 401 });
      }
      try {
        // For a UPN the domain field stays empty; for CONTOSO\alice it is CONTOSO. The answer only ever travels
        // in an Authorization header, whose value the -v log never shows.
        return createType3Message(type2, user, password, workstation, domain);
      } catch {
        throw new AuthError('could not build the NTLM answer to the server challenge (an unusually large challenge?)', { status: 401 });
      }
    },
  };
  return {
    scheme: 'ntlm',
    authorization: async () => {
      throw new AuthError('NTLM authenticates connections, not requests: this is a bug in ews-watch');
    },
    secrets: [password],
    handshake,
  };
}
