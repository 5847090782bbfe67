// How a request gets its credentials. Providers (basic, token; NTLM and OAuth come later) sit behind this one
// interface so the transport never knows which scheme is in use.

export type AuthScheme = 'basic' | 'token' | 'oauth';

export interface AuthProvider {
  readonly scheme: AuthScheme;
  /** The value of the Authorization header for the next request. */
  authorization(): Promise<string>;
  /** Values that must never be printed (the password, the encoded header, the token). */
  readonly secrets: readonly string[];
  /**
   * Request-oriented schemes that can get a new credential (OAuth): called once after a 401; the transport then
   * retries the same request once. Resolves false when there is nothing new to try; throws AuthError when refused.
   */
  refresh?(): Promise<boolean>;
  /** What the user should do when the server still refuses (401 after a refresh, or 403); replaces the generic advice. */
  advice?(status: number): string;
}
