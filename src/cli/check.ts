// `ews-watch check`, a doctor: shows the resolved configuration and where each value came from, signs in, does
// one Subscribe + Unsubscribe, and reports the server version, the authentication scheme and round-trip times.
// On failure it says what to try. The report is the command's output, so it goes to stdout; exit codes are
// those of watching (4 for authentication, 1 for other failures).

import { AuthError, EwsResponseError, TransportError, describeError } from '../errors.js';
import { responseCodeHint } from '../ews/response-codes.js';
import type { ServerVersionInfo } from '../ews/types.js';
import { stripControl } from '../output/sanitize.js';
import type { WatchClient } from '../watch/client.js';
import { EXIT, exitCodeFor } from './exit-codes.js';

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
  const w = (line: string): void => o.write(`${o.redact ? o.redact(line) : line}
`);
  let configuration = o.configuration;
  if (o.findMailbox) {
    try {
      const row = await o.findMailbox();
      configuration = configuration.map((r) => (r.name === row.name ? row : r));
    } catch (err) {
      printConfiguration(w, configuration);
      return failed(w, 'sign-in and finding the mailbox', err);
    }
  }
  printConfiguration(w, configuration);
  const t0 = o.now();
  let subscriptionId: string;
  try {
    subscriptionId = await o.client.subscribe();
  } catch (err) {
    return failed(w, 'sign-in and Subscribe', err);
  }
  const subscribeMs = o.now() - t0;
  w(`ok    signed in with ${o.scheme()}`);
  w(`ok    Subscribe to ${o.folderLabel}: ${subscribeMs} ms`);
  const t1 = o.now();
  try {
    await o.client.unsubscribe(subscriptionId);
  } catch (err) {
    return failed(w, 'Unsubscribe', err);
  }
  w(`ok    Unsubscribe: ${o.now() - t1} ms`);
  w(`server ${describeVersion(o.serverVersion())}`);
  w('all checks passed: `ews-watch` with the same settings will stream events');
  return EXIT.ok;
}

function printConfiguration(w: (line: string) => void, rows: readonly CheckRow[]): void {
  w('configuration');
  const width = Math.max(...rows.map((r) => r.name.length), 8);
  for (const r of rows) w(`  ${r.name.padEnd(width)}  ${stripControl(r.value)}${r.source ? `  (${r.source})` : ''}`);
}

export function describeVersion(v: ServerVersionInfo | undefined): string {
  if (!v) return 'version not reported (no ServerVersionInfo in the answer)';
  const build = [v.majorVersion, v.minorVersion, v.majorBuildNumber, v.minorBuildNumber].map((n) => n ?? '?').join('.');
  return `Exchange ${build}${v.version ? ` (schema ${stripControl(v.version)})` : ''}${productName(v.majorVersion, v.minorVersion)}`;
}

function productName(major?: number, minor?: number): string {
  if (major === 14) return ', Exchange 2010';
  if (major === 15 && minor === 0) return ', Exchange 2013';
  if (major === 15 && minor === 1) return ', Exchange 2016';
  if (major === 15 && minor === 2) return ', Exchange 2019 or Subscription Edition';
  if (major === 15 && minor !== undefined && minor >= 20) return ', Exchange Online';
  return '';
}

function failed(w: (line: string) => void, step: string, err: unknown): number {
  w(`FAIL  ${step}: ${stripControl(describeError(err))}`);
  const tip = suggestionFor(err);
  if (tip) w(`      try: ${tip}`);
  return exitCodeFor(err);
}

/** What to try next, for the failures people meet when setting ews-watch up. */
export function suggestionFor(err: unknown): string | undefined {
  if (err instanceof AuthError) {
    return err.status === 403
      ? 'the server knows who you are but refuses EWS: ask an admin to allow EWS for this account (Exchange Online: Set-OrganizationConfig -EWSEnabled $true and the app id in -EwsAllowedAppIDs)'
      : 'check the user name (alice@contoso.com or CONTOSO\\alice) and the password, and --auth (the server says which schemes it offers in -v output)';
  }
  if (err instanceof EwsResponseError) return responseCodeHint(err.responseCode) ?? 'see the response code in Microsoft\'s EWS ResponseCode reference';
  if (err instanceof TransportError) {
    const cause = (err.cause as { code?: string } | undefined)?.code ?? '';
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(cause)) return 'the server certificate is not trusted: pass your internal CA with --ca-file';
    if (err.status === 404) return 'the URL is not an EWS endpoint: it usually ends in /EWS/Exchange.asmx';
    if (err.status !== undefined && err.status >= 500) return 'the server is failing or busy: try again later, or check its event log';
    return 'check --url and that this machine can reach the server (proxy, firewall, DNS)';
  }
  return undefined;
}
