// MSAL's errors turned into ours, each saying what to do next: a sign-in that expired or was revoked → AuthError
// (exit 4) naming `ews-watch login`; an app whose secret or certificate is refused → AuthError naming them;
// the identity platform out of reach → TransportError; a bad authority → UsageError. Pure.

import { AuthError, TransportError, UsageError } from '../errors.js';
import { stripControl } from '../base/sanitize.js';

export interface OAuthErrorContext {
  /** The app flow (client credentials) rather than a person's sign-in. */
  app: boolean;
  tenant: string;
  clientId: string;
  authority: string;
}

interface MsalLikeError {
  name?: string;
  errorCode?: string;
  errorMessage?: string;
  subError?: string;
  message?: string;
}

/** The command that signs a person in again. */
export function loginCommand(c: Pick<OAuthErrorContext, 'tenant' | 'clientId'>): string {
  return `ews-watch login --auth oauth --tenant ${c.tenant} --client-id ${c.clientId}`;
}

/** What the identity platform said, without trace ids and bounded: "AADSTS50173: The provided grant has expired …". */
export function identityMessage(err: MsalLikeError): string {
  const text = stripControl(err.errorMessage || err.message || err.errorCode || 'unknown error').replace(/\s+/g, ' ');
  // MSAL's ServerError reads "Error(s): 7000215 - Timestamp: … - Description: AADSTS7000215: … - Correlation ID: …".
  const described = /Description: (.*?)(?: - (?:Correlation ID|Trace ID|Timestamp):|$)/.exec(text)?.[1] ?? text;
  const cut = described.search(/\s*(Trace ID|Correlation ID|Timestamp):/);
  const short = (cut > 0 ? described.slice(0, cut) : described).trim();
  return short.length > 240 ? `${short.slice(0, 239)}…` : short;
}

const SIGN_IN_AGAIN = new Set(['invalid_grant', 'interaction_required', 'consent_required', 'login_required', 'no_tokens_found', 'bad_token', 'refresh_token_expired', 'no_account_found', 'expired_token', 'authorization_declined', 'access_denied', 'device_code_expired', 'device_code_polling_cancelled', 'user_timeout_reached']);
const APP_CREDENTIALS = new Set(['invalid_client', 'unauthorized_client']);
const UNREACHABLE = new Set(['network_error', 'endpoints_resolution_error', 'openid_config_error', 'no_network_connectivity', 'token_parsing_error']);

export function fromMsalError(err: unknown, c: OAuthErrorContext): Error {
  const e = (err ?? {}) as MsalLikeError;
  const code = e.errorCode ?? '';
  const said = identityMessage(e);
  if (UNREACHABLE.has(code)) {
    return new TransportError(`cannot get a token from the Microsoft identity platform at ${c.authority}: ${said}; check the network (proxy, firewall) and --tenant`, { cause: err });
  }
  if (e.name === 'ClientConfigurationError') {
    return new UsageError(`OAuth configuration rejected by MSAL (${code}): ${said}; check --tenant, --client-id and --authority`, { cause: err });
  }
  if (APP_CREDENTIALS.has(code) || (c.app && code === 'invalid_request')) {
    const what = c.app
      ? 'check EWS_CLIENT_SECRET or --client-cert (expired, revoked, or from another app?), --client-id and --tenant'
      : `check --client-id and --tenant, and that the app registration allows public client flows; then run ${loginCommand(c)}`;
    return new AuthError(`the Microsoft identity platform refused app ${c.clientId}: ${said}; ${what}`, { cause: err });
  }
  if (code === 'invalid_scope' || /AADSTS65001|AADSTS70011|AADSTS500011/.test(said)) {
    const perm = c.app ? 'the application permission full_access_as_app (Office 365 Exchange Online) with admin consent' : 'the delegated permission EWS.AccessAsUser.All (Office 365 Exchange Online), consented';
    return new AuthError(`app ${c.clientId} may not ask for EWS access: ${said}; give it ${perm}`, { cause: err });
  }
  if (!c.app && (SIGN_IN_AGAIN.has(code) || e.name === 'InteractionRequiredAuthError')) {
    return new AuthError(`the Exchange Online sign-in has expired or was revoked (${said}); sign in again: ${loginCommand(c)}`, { cause: err });
  }
  const next = c.app ? 'check the app credentials, --client-id and --tenant' : `try signing in again: ${loginCommand(c)}`;
  return new AuthError(`OAuth sign-in failed: ${said}; ${next}`, { cause: err });
}

/**
 * What to do when Exchange itself refuses a fresh token (HTTP 401 after one refresh, or 403). Since October 2026
 * Exchange Online refuses EWS unless the tenant enables it and allow-lists the app id (protocol-notes.md §5).
 */
export function exchangeRefusalAdvice(status: number, c: Pick<OAuthErrorContext, 'app' | 'tenant' | 'clientId'>): string {
  const allowList = `Exchange Online blocks EWS unless an admin allows it for this app: Set-OrganizationConfig -EWSEnabled $true and -EwsAllowedAppIDs with ${c.clientId} (EWS in Exchange Online is off by default from October 2026 and ends in April 2027)`;
  if (status === 403) return `the token was accepted but EWS is not allowed: ${allowList}`;
  const own = c.app
    ? `check that app ${c.clientId} has the application permission full_access_as_app with admin consent and that --mailbox exists in tenant ${c.tenant}`
    : `sign in again (${loginCommand(c)}); if that does not help, check that the account has an Exchange Online mailbox with EWS enabled`;
  return `${own}; otherwise ${allowList}`;
}
