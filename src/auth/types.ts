// How a request gets its credentials. Providers (basic, token, OAuth, NTLM, and auto, which picks one from the
// server's offers) sit behind this one interface so the transport never knows the details of a scheme.

export type AuthScheme = 'basic' | 'token' | 'oauth' | 'ntlm' | 'auto';

export interface AuthProvider {
  readonly scheme: AuthScheme;
  /** The value of the Authorization header for the next request (request-oriented schemes). */
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
  /** Connection-oriented schemes (NTLM): a handshake authenticates a keep-alive connection, not a request. */
  readonly handshake?: ConnectionHandshake;
  /**
   * `--auth auto`: given the schemes a 401 offered, the provider to use from now on and a sentence saying why.
   * Rejects with AuthError when nothing offered is usable. Asynchronous: the chosen scheme's code loads only then.
   */
  choose?(offers: readonly string[], url: URL): Promise<{ provider: AuthProvider; why: string }>;
}

export interface ConnectionHandshake {
  /** The Authorization value that opens the handshake (NTLM type 1). */
  negotiate(): string;
  /** The Authorization value that answers the server's challenge (NTLM type 3), from the 401's WWW-Authenticate. */
  authenticate(wwwAuthenticate: string | string[] | undefined): string;
}

/** Where secrets are kept: the OS keychain or the credentials file (src/auth/credential-store*.ts). */
export interface CredentialStore {
  readonly kind: 'keychain' | 'file';
  /** Where secrets go, for people: "the Secret Service keyring" or "~/.config/ews-watch/credentials.json (mode 0600)". */
  readonly where: string;
  /** Where one entry lives, for people: "the Secret Service keyring (ews-watch / https://mail.contoso.com alice@contoso.com)". */
  describe(account: string): string;
  get(account: string): Promise<string | undefined>;
  /** Any string up to MAX_SECRET_CHARS (a password, or an OAuth token cache of a few hundred KB). */
  set(account: string, secret: string): Promise<void>;
  /** True when there was something to remove. */
  delete(account: string): Promise<boolean>;
}
