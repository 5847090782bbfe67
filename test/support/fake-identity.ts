// A fake Microsoft identity platform (Entra ID v2.0 endpoints) on https://127.0.0.1 for the OAuth tests: OpenID
// configuration, /devicecode with polling, /token for the device_code, refresh_token and client_credentials
// (secret or certificate assertion) grants. It issues opaque tokens whose validity the tests control (expire, revoke)
// and that the simulator checks through isValid(). TLS uses a throwaway self-signed certificate made by openssl.

import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash, createPublicKey, randomBytes, randomUUID, verify, constants as cryptoConstants } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpsRequest, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const EWS_DELEGATED_SCOPE = 'https://outlook.office365.com/EWS.AccessAsUser.All';
export const EWS_APP_SCOPE = 'https://outlook.office365.com/.default';

export interface IdpRequest {
  method: string;
  path: string;
  /** grant_type for /token, 'devicecode' or 'openid-configuration' otherwise. */
  kind: string;
  /** The HTTP status the fake answered. */
  status: number;
  /** The OAuth error it answered with, if any. */
  error?: string;
}

interface IssuedToken {
  kind: 'delegated' | 'app';
  scope: string;
  expiresAt: number;
  revoked: boolean;
}

export interface FakeIdentityOptions {
  tenant?: string;
  clientId?: string;
  /** Polls answered authorization_pending before the user "approves" the device code (default 2). */
  pendingPolls?: number;
  /** Lifetime of issued access tokens in seconds (default 3600). */
  tokenLifetimeSec?: number;
}

export interface FakeIdentity {
  /** https://127.0.0.1:<port> */
  readonly origin: string;
  /** The authority to hand MSAL: <origin>/<tenant>. */
  readonly authority: string;
  readonly tenant: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The signed-in person of the device-code flow. */
  readonly username: string;
  /** PEM file of the server certificate, to trust (NODE_EXTRA_CA_CERTS or a network client's `ca`). */
  readonly caFile: string;
  readonly ca: string;
  /** PEM file with the app's private key and certificate (for --client-cert). */
  readonly clientCertFile: string;
  readonly requests: IdpRequest[];
  /** User codes shown so far by /devicecode. */
  readonly userCodes: string[];
  tokenLifetimeSec: number;
  /** true for an issued, unexpired, unrevoked access token. */
  isValid(token: string): boolean;
  /** Every access token issued so far stops being valid (as when it expires); refresh tokens still work. */
  expireAccessTokens(): void;
  /** Revokes everything: access and refresh tokens, and the app's secret and certificate. */
  revokeAll(): void;
  /** Access tokens issued so far, oldest first. */
  issued(): string[];
  close(): Promise<void>;
}

const b64url = (v: string | Buffer): string => Buffer.from(v).toString('base64url');

function openssl(dir: string, name: string, cn: string): { key: string; cert: string } {
  const keyFile = join(dir, `${name}-key.pem`);
  const certFile = join(dir, `${name}-cert.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
}

/** Checks a client_assertion JWT (RFC 7523) against the app certificate: signature, x5t, iss/sub, aud, exp. */
function assertionValid(jwt: string, cert: X509Certificate, clientId: string, tokenEndpoint: string): boolean {
  const parts = jwt.split('.');
  if (parts.length !== 3) return false;
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, string>;
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, string | number>;
    const der = cert.raw;
    const s256 = b64url(createHash('sha256').update(der).digest());
    const s1 = b64url(createHash('sha1').update(der).digest());
    if (header['x5t#S256'] !== s256 && header.x5t !== s1) return false;
    const key = createPublicKey(cert.publicKey.export({ type: 'spki', format: 'pem' }));
    const data = Buffer.from(`${parts[0]}.${parts[1]}`);
    const sig = Buffer.from(parts[2]!, 'base64url');
    const ok =
      header.alg === 'PS256'
        ? verify('sha256', data, { key, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig)
        : header.alg === 'RS256' && verify('sha256', data, key, sig);
    return ok && claims.iss === clientId && claims.sub === clientId && claims.aud === tokenEndpoint && Number(claims.exp) * 1000 > Date.now();
  } catch {
    return false;
  }
}

export async function startFakeIdentity(opts: FakeIdentityOptions = {}): Promise<FakeIdentity> {
  const dir = mkdtempSync(join(tmpdir(), 'ews-watch-idp-'));
  const server = openssl(dir, 'server', '127.0.0.1');
  const app = openssl(dir, 'app', 'ews-watch test app');
  const caFile = join(dir, 'server-cert.pem');
  const clientCertFile = join(dir, 'app.pem');
  writeFileSync(clientCertFile, `${app.key}${app.cert}`, { mode: 0o600 });
  const appCert = new X509Certificate(app.cert);
  const tenant = opts.tenant ?? '7c1b2a3d-0000-4000-8000-00000000c0de';
  const clientId = opts.clientId ?? 'd3590ed6-52b3-4102-aeff-aad2292ab01c';
  const clientSecret = `secret~${randomBytes(12).toString('base64url')}`;
  const username = 'alice@contoso.com';
  const oid = '00000000-0000-0000-66f3-3332eca7ea81';
  const tokens = new Map<string, IssuedToken>();
  const refreshTokens = new Map<string, boolean>();
  const deviceCodes = new Map<string, { polls: number; scope: string }>();
  const requests: IdpRequest[] = [];
  const userCodes: string[] = [];
  let appRevoked = false;
  let origin = '';

  const issuer = (): string => `${origin}/${tenant}/v2.0`;
  const tokenEndpoint = (): string => `${origin}/${tenant}/oauth2/v2.0/token`;

  const idToken = (): string => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { aud: clientId, iss: issuer(), iat: now, nbf: now, exp: now + 3600, name: 'Alice Contoso', oid, preferred_username: username, sub: 'sub-alice', tid: tenant, ver: '2.0' };
    return `${b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: 'fake' }))}.${b64url(JSON.stringify(claims))}.${b64url('not-a-signature')}`;
  };

  const issue = (kind: IssuedToken['kind'], scope: string): Record<string, unknown> => {
    const accessToken = `fake-at.${randomBytes(24).toString('base64url')}`;
    tokens.set(accessToken, { kind, scope, expiresAt: Date.now() + fake.tokenLifetimeSec * 1000, revoked: false });
    const base = { token_type: 'Bearer', scope, expires_in: fake.tokenLifetimeSec, ext_expires_in: fake.tokenLifetimeSec, access_token: accessToken };
    if (kind === 'app') return base;
    const refreshToken = `fake-rt.${randomBytes(24).toString('base64url')}`;
    refreshTokens.set(refreshToken, true);
    return { ...base, scope: `${scope} openid profile offline_access`, refresh_token: refreshToken, id_token: idToken(), client_info: b64url(JSON.stringify({ uid: oid, utid: tenant })) };
  };

  const handleToken = (form: URLSearchParams): [number, Record<string, unknown>] => {
    const grant = form.get('grant_type') ?? '';
    const fail = (status: number, error: string, description: string): [number, Record<string, unknown>] => [status, { error, error_description: description, error_codes: [Number(/AADSTS(\d+)/.exec(description)?.[1] ?? 0)], trace_id: randomUUID(), correlation_id: randomUUID() }];
    if (form.get('client_id') !== clientId) return fail(400, 'unauthorized_client', `AADSTS700016: Application with identifier '${form.get('client_id')}' was not found in the directory.`);
    const scopes = (form.get('scope') ?? '').split(' ');
    if (grant === 'urn:ietf:params:oauth:grant-type:device_code' || grant === 'device_code') {
      const entry = deviceCodes.get(form.get('device_code') ?? '');
      if (!entry) return fail(400, 'expired_token', 'AADSTS70020: The provided value for the input parameter device_code is not valid.');
      if (entry.polls > 0) {
        entry.polls -= 1;
        return fail(400, 'authorization_pending', 'AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.');
      }
      deviceCodes.delete(form.get('device_code')!);
      return [200, issue('delegated', EWS_DELEGATED_SCOPE)];
    }
    if (grant === 'refresh_token') {
      const rt = form.get('refresh_token') ?? '';
      if (refreshTokens.get(rt) !== true) return fail(400, 'invalid_grant', 'AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed.');
      if (!scopes.includes(EWS_DELEGATED_SCOPE)) return fail(400, 'invalid_scope', `AADSTS70011: The provided value for scope is not valid.`);
      return [200, issue('delegated', EWS_DELEGATED_SCOPE)];
    }
    if (grant === 'client_credentials') {
      const secret = form.get('client_secret');
      const assertion = form.get('client_assertion');
      const good = !appRevoked && (secret !== null ? secret === clientSecret : assertion !== null && assertionValid(assertion, appCert, clientId, tokenEndpoint()));
      if (!good) return fail(401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.');
      if (!scopes.includes(EWS_APP_SCOPE)) return fail(400, 'invalid_scope', 'AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.');
      return [200, issue('app', EWS_APP_SCOPE)];
    }
    return fail(400, 'unsupported_grant_type', `AADSTS70003: The app requested an unsupported grant type '${grant}'.`);
  };

  const route = (method: string, path: string, body: string): [number, string, Record<string, unknown>] => {
    if (method === 'GET' && path === `/${tenant}/v2.0/.well-known/openid-configuration`) {
      const base = `${origin}/${tenant}`;
      return [200, 'openid-configuration', {
        token_endpoint: `${base}/oauth2/v2.0/token`,
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        jwks_uri: `${origin}/${tenant}/discovery/v2.0/keys`,
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        issuer: issuer(),
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        tenant_region_scope: 'EU',
      }];
    }
    const form = new URLSearchParams(body);
    if (method === 'POST' && path === `/${tenant}/oauth2/v2.0/devicecode`) {
      if (form.get('client_id') !== clientId) return [400, 'devicecode', { error: 'unauthorized_client', error_description: 'AADSTS700016: Application not found.' }];
      const deviceCode = randomBytes(24).toString('base64url');
      const userCode = randomBytes(5).toString('hex').toUpperCase().slice(0, 9);
      deviceCodes.set(deviceCode, { polls: opts.pendingPolls ?? 2, scope: form.get('scope') ?? '' });
      userCodes.push(userCode);
      return [200, 'devicecode', {
        user_code: userCode,
        device_code: deviceCode,
        verification_uri: 'https://microsoft.com/devicelogin',
        expires_in: 900,
        interval: 0,
        message: `To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ${userCode} to authenticate.`,
      }];
    }
    if (method === 'POST' && path === `/${tenant}/oauth2/v2.0/token`) {
      const [status, json] = handleToken(form);
      return [status, form.get('grant_type') ?? '', json];
    }
    return [404, 'unknown', { error: 'not_found', error_description: `AADSTS90002: no such endpoint ${path}` }];
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 64 * 1024) chunks.push(c);
    });
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      const [status, kind, json] = size > 64 * 1024 ? [413, 'too-large', { error: 'invalid_request' }] as const : route(req.method ?? '', path, Buffer.concat(chunks).toString('utf8'));
      requests.push({ method: req.method ?? '', path, kind, status, ...(typeof json.error === 'string' ? { error: json.error } : {}) });
      const data = Buffer.from(JSON.stringify(json));
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': data.length, 'cache-control': 'no-store' });
      res.end(data);
    });
  };

  const https: Server = createServer({ key: server.key, cert: server.cert }, handler);
  await new Promise<void>((resolve, reject) => {
    https.once('error', reject);
    https.listen(0, '127.0.0.1', () => resolve());
  });
  origin = `https://127.0.0.1:${(https.address() as AddressInfo).port}`;

  const fake: FakeIdentity = {
    origin,
    authority: `${origin}/${tenant}`,
    tenant,
    clientId,
    clientSecret,
    username,
    caFile,
    ca: server.cert,
    clientCertFile,
    requests,
    userCodes,
    tokenLifetimeSec: opts.tokenLifetimeSec ?? 3600,
    isValid(token) {
      const t = tokens.get(token);
      return t !== undefined && !t.revoked && t.expiresAt > Date.now();
    },
    expireAccessTokens() {
      for (const t of tokens.values()) t.expiresAt = 0;
    },
    revokeAll() {
      for (const t of tokens.values()) t.revoked = true;
      for (const rt of refreshTokens.keys()) refreshTokens.set(rt, false);
      appRevoked = true;
    },
    issued: () => [...tokens.keys()],
    close() {
      return new Promise((resolve) => {
        https.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        https.closeAllConnections();
      });
    },
  };
  return fake;
}

/** An MSAL network module (INetworkModule's shape) that trusts the fake's certificate, for in-process tests. */
export function trustingNetworkClient(ca: string): {
  sendGetRequestAsync<T>(url: string, options?: { headers?: Record<string, string>; body?: string }): Promise<{ headers: Record<string, string>; body: T; status: number }>;
  sendPostRequestAsync<T>(url: string, options?: { headers?: Record<string, string>; body?: string }): Promise<{ headers: Record<string, string>; body: T; status: number }>;
} {
  const send = <T>(method: string, url: string, options?: { headers?: Record<string, string>; body?: string }): Promise<{ headers: Record<string, string>; body: T; status: number }> =>
    new Promise((resolve, reject) => {
      const req = httpsRequest(url, { method, ca, headers: { ...options?.headers, ...(options?.body !== undefined ? { 'content-length': String(Buffer.byteLength(options.body)) } : {}) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // Not JSON: MSAL reports it.
          }
          resolve({ headers, body: body as T, status: res.statusCode ?? 0 });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(options?.body);
    });
  return {
    sendGetRequestAsync: (url, options) => send('GET', url, options),
    sendPostRequestAsync: (url, options) => send('POST', url, options),
  };
}
