// `ews-watch check`, a doctor: shows the resolved configuration and where each value came from, signs in, does
// one Subscribe + Unsubscribe, and reports the server version, the authentication scheme and round-trip times.
// On failure it says what to try. The report is the command's output, so it goes to stdout; exit codes are
// those of watching (4 for authentication, 1 for other failures).

import { AuthError, EwsResponseError, ProtocolError, TransportError, describeError } from '../errors.js';
import { isServerErrorPage } from '../ews/endpoint.js';
import { responseCodeHint } from '../ews/response-codes.js';
import type { ServerVersionInfo } from '../ews/types.js';
import { describeVersion } from './server-version.js';
import { cleanLines, stripControl } from '../base/sanitize.js';
import type { WatchClient } from '../ews/client.js';
import { EXIT, exitCodeFor } from './exit-codes.js';

export { describeVersion };

export interface CheckRow {
  name: string;
  value: string;
  /** Where the value came from: flag, env, .env, keychain, default, … */
  source?: string;
}

export interface CheckOptions {
  client: WatchClient;
  write: (line: string) => void;
  /** Hides the secrets the client sent in every line (server text in a failure may echo them). */
  redact?: (text: string) => string;
  now: () => number;
  configuration: readonly CheckRow[];
  /** What was watched: "inbox", "all folders", … */
  folderLabel: string;
  /** The authentication scheme in use, asked after sign-in (auto negotiation decides it then). */
  scheme: () => string;
  serverVersion: () => ServerVersionInfo | undefined;
  /** A DOMAIN\user sign-in: finds the mailbox (signing in) before the table is printed, and gives its row. */
  findMailbox?: () => Promise<CheckRow>;
}

export async function runCheck(o: CheckOptions): Promise<number> {
  // Every line may quote the server: redacted, then cleaned of escape sequences and controls (one place).
  const w = (line: string): void => o.write(`${cleanLines(o.redact ? o.redact(line) : line)}
`);
  let configuration = o.configuration;
  if (o.findMailbox) {
    try {
      const row = await o.findMailbox();
      configuration = configuration.map((r) => (r.name === row.name ? row : r));
    } catch (err) {
      printConfiguration(w, configuration);
      return failed(w, 'sign-in and finding the mailbox', '(?:GetFolder|ConvertId|ResolveNames)', err);
    }
  }
  printConfiguration(w, configuration);
  const t0 = o.now();
  let subscriptionId: string;
  try {
    subscriptionId = await o.client.subscribe();
  } catch (err) {
    return failed(w, 'sign-in and Subscribe', 'Subscribe', err);
  }
  const subscribeMs = o.now() - t0;
  w(`ok    signed in with ${o.scheme()}`);
  w(`ok    Subscribe to ${o.folderLabel}: ${subscribeMs} ms`);
  const t1 = o.now();
  let unsubscribed: Awaited<ReturnType<WatchClient['unsubscribe']>>;
  try {
    unsubscribed = await o.client.unsubscribe(subscriptionId);
  } catch (err) {
    return failed(w, 'Unsubscribe', 'Unsubscribe', err);
  }
  const gone = unsubscribed === 'already-gone' ? ' (the subscription was already gone: ErrorSubscriptionNotFound)' : '';
  w(`ok    Unsubscribe: ${o.now() - t1} ms${gone}`);
  w(`server ${describeVersion(o.serverVersion())}`);
  w('all checks passed: `ews-watch` with the same settings will stream events');
  return EXIT.ok;
}

export function printConfiguration(w: (line: string) => void, rows: readonly CheckRow[]): void {
  w('configuration');
  const width = Math.max(...rows.map((r) => r.name.length), 8);
  for (const r of rows) w(`  ${r.name.padEnd(width)}  ${stripControl(r.value)}${r.source ? `  (${r.source})` : ''}`);
}

/** One FAIL line (the step names the operation, so the message's own "Subscribe: " goes) and always a try: line. */
export function failed(w: (line: string) => void, step: string, operation: string, err: unknown): number {
  const message = stripControl(describeError(err)).replace(new RegExp(`^${operation}: `), '');
  w(`FAIL  ${step}: ${message}`);
  w(`      try: ${suggestionFor(err)}`);
  return exitCodeFor(err);
}

/** What to try next, for the failures people meet when setting ews-watch up. */
export function suggestionFor(err: unknown): string {
  if (err instanceof AuthError) {
    return err.status === 403
      ? 'the server knows who you are but refuses EWS: ask an admin to allow EWS for this account (Exchange Online: Set-OrganizationConfig -EWSEnabled $true and the app id in -EwsAllowedAppIDs)'
      : 'check the user name (alice@contoso.com or CONTOSO\\alice) and the password, and --auth (the server says which schemes it offers in -v output)';
  }
  if (err instanceof EwsResponseError) return responseCodeHint(err.responseCode) ?? 'see the response code in Microsoft\'s EWS ResponseCode reference';
  if (err instanceof TransportError) return transportSuggestion(err);
  if (err instanceof ProtocolError) return 'the answer is not well-formed EWS: check that --url is the EWS endpoint itself, and run with -v to see the answer';
  return 'run again with -v to see each request and answer';
}

function transportSuggestion(err: TransportError): string {
  const cause = (err.cause as { code?: string } | undefined)?.code ?? '';
  const status = err.status;
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(cause)) return 'the server certificate is not trusted: pass your internal CA with --ca-file';
  if (err.notEws) return 'point --url at the EWS endpoint itself (on Exchange https://<server>/EWS/Exchange.asmx); if it is that already, a proxy or portal in between answers instead of Exchange';
  if (status !== undefined && status >= 300 && status < 400) {
    if (isServerErrorPage(err.location)) return 'the server is failing: try again later, or check its event log';
    if (err.location && /\/owa(?:\/|$)/i.test(err.location)) {
      return 'use the EWS URL (…/EWS/Exchange.asmx), not the Outlook on the web address; if it is already that, a proxy wants a browser sign-in: publish EWS with NTLM or Basic sign-in (or pass-through)';
    }
    return 'set --url to the EWS endpoint the server points to (ews-watch does not follow redirects, so credentials never go anywhere else)';
  }
  if (status === 404 || status === 405) return 'the URL is not an EWS endpoint: it usually ends in /EWS/Exchange.asmx';
  if (status === 408 || status === 429 || (status !== undefined && status >= 500)) {
    const wait = err.backOffMs !== undefined ? ` (it asked to wait ${Math.ceil(err.backOffMs / 1000)} s)` : '';
    return `the server is failing or busy: try again later${wait}, or check its event log`;
  }
  if (status !== undefined) return 'check --url and --server-version; run with -v to see the answer';
  if (cause === 'UND_ERR_HEADERS_TIMEOUT') return 'the server took the request but never answered: check that it is healthy (on Exchange: the MSExchangeServicesAppPool) and that no proxy holds requests';
  if (cause === 'ECONNREFUSED') return 'nothing accepts connections there: check the host and port in --url, and that the server is running';
  if (cause === 'ENOTFOUND' || cause === 'EAI_AGAIN') return 'the host name does not resolve: check it in --url, and DNS';
  if (/^ERR_SSL|^EPROTO|HPE_/.test(cause)) return 'check that the scheme in --url (https:// or http://) matches the server; for TLS trouble see --ca-file';
  return 'check --url and that this machine can reach the server (proxy, firewall, DNS)';
}
