// How a request gets its credentials. Providers (basic, token; NTLM and OAuth come later) sit behind this one
// interface so the transport never knows which scheme is in use.

export type AuthScheme = 'basic' | 'token';

export interface AuthProvider {
  readonly scheme: AuthScheme;
  /** The value of the Authorization header for the next request. */
  authorization(): Promise<string>;
  /** Values that must never be printed (the password, the encoded header, the token). */
  readonly secrets: readonly string[];
}
