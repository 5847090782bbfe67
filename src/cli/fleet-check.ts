// `ews-watch check` with many mailboxes: for each mailbox one Subscribe and Unsubscribe, impersonating it under its
// group's anchor (as the fleet will), and one line saying so, or what failed and what to ask the admin; then a
// summary. The transport is the fleet's (FleetTransport), its groups as src/fleet/grouping.ts forms them.

import { cleanText } from '../base/sanitize.js';
import { AuthError, describeError, EwsResponseError } from '../errors.js';
import { groupMailboxes, type Located } from '../fleet/grouping.js';
import { forEachLimited } from '../fleet/limit.js';
import { MAX_IN_FLIGHT, type FleetTransport } from '../fleet/types.js';
import type { Logger } from '../term/logger.js';
import type { CheckConfig } from './command-config.js';
import { EXIT } from './exit-codes.js';
import type { FleetFactories } from './fleet-watch.js';
import type { IOStreams } from './io-streams.js';
import { locateMany } from './locate.js';
import { readMailboxList } from './mailbox-list.js';
import type { MailboxSelection } from './mailbox-selection.js';
import { resolveAuth } from './sign-in.js';

export interface MailboxCheck {
  mailbox: string;
  /** The group's id and anchor (the mailbox its stream would name). */
  group: string;
  anchor: string;
  ok: boolean;
  /** When not ok: the response code (or error kind), and what to do about it. */
  code?: string;
  advice?: string;
}

/** What to ask the admin for a mailbox's failure (protocol-notes.md §4.5 "Rights" and "Budgets"). */
export function adviceFor(code: string): string {
  switch (code) {
    case 'ErrorImpersonateUserDenied':
    case 'ErrorImpersonationDenied':
      return 'the account may not impersonate this mailbox: ask for ApplicationImpersonation over it (on premises) or for it to join the group of the app\'s access policy (Exchange Online)';
    case 'ErrorNonExistentMailbox':
      return 'no mailbox has this address: check the list (a typo, a removed user, a contact rather than a mailbox)';
    case 'ErrorAccessDenied':
      return 'access denied: ask the admin for the account\'s rights over this mailbox';
    case 'ErrorServerBusy':
    case 'ErrorExceededConnectionCount':
      return 'Exchange throttled the check: try again later, and ask the admin about the account\'s EWS throttling policy if it persists';
    case 'ErrorProxyCallFailed':
    case 'ErrorMailboxMoveInProgress':
      return 'the mailbox\'s server did not answer behind the front end (a move, a dismounted database): ask the admin, or try again later';
    case 'auth':
      return 'the sign-in was refused: check the account\'s password, or the app\'s secret, certificate and permissions';
    default:
      return 'see the message; -v shows the requests';
  }
}

/** One Subscribe and Unsubscribe per mailbox, at most MAX_IN_FLIGHT at once; never throws for a mailbox's failure. */
export async function checkMailboxes(transport: FleetTransport, mailboxes: readonly Located[], o: { url?: string; signal?: AbortSignal } = {}): Promise<MailboxCheck[]> {
  const results = new Map<string, MailboxCheck>();
  for (const group of groupMailboxes(mailboxes, o.url !== undefined ? { url: o.url } : {})) {
    const client = transport.group(group);
    const check = async (m: string): Promise<void> => {
      if (o.signal?.aborted) return;
      results.set(m.toLowerCase(), { mailbox: m, group: group.id, anchor: group.anchor, ...(await checkOne(client, m, o.signal)) });
    };
    try {
      // The anchor (the first member) alone first, as the watch does: its answer sets the cookie the others carry.
      await forEachLimited(group.members.slice(0, 1), 1, check);
      await forEachLimited(group.members.slice(1), MAX_IN_FLIGHT, check);
    } finally {
      await client.close().catch(() => undefined);
    }
  }
  return mailboxes.flatMap((m) => results.get(m.address.toLowerCase()) ?? []);
}

async function checkOne(client: ReturnType<FleetTransport['group']>, mailbox: string, signal: AbortSignal | undefined): Promise<Pick<MailboxCheck, 'ok' | 'code' | 'advice'>> {
  try {
    const id = await client.subscribe(mailbox, {}, signal);
    await client.unsubscribe(mailbox, id, signal).catch(() => undefined);
    return { ok: true };
  } catch (err) {
    const code = err instanceof EwsResponseError ? err.responseCode : err instanceof AuthError ? 'auth' : (err as { code?: string }).code ?? 'error';
    const known = adviceFor(code);
    return { ok: false, code, advice: known.startsWith('see the message') ? `${cleanText(describeError(err))} (${known})` : known };
  }
}

/** The lines of the report: one per mailbox, then the summary (stdout). */
export function formatChecks(checks: readonly MailboxCheck[]): string {
  const width = Math.min(40, Math.max(0, ...checks.map((c) => c.mailbox.length)));
  const lines = checks.map((c) => {
    const who = c.mailbox.padEnd(width);
    return c.ok ? `ok    ${who}  group ${cleanText(c.group)}, anchor ${c.anchor}` : `FAIL  ${who}  ${cleanText(c.code ?? 'error')}: ${c.advice ?? ''}`;
  });
  const failed = checks.filter((c) => !c.ok).length;
  lines.push(`${checks.length - failed} of ${checks.length} mailboxes ok${failed > 0 ? `, ${failed} failed` : ''}`);
  return `${lines.join('\n')}\n`;
}

export interface FleetCheckRun {
  io: Pick<IOStreams, 'stdin' | 'stdout' | 'stderr'>;
  config: CheckConfig & { mailboxes: Extract<MailboxSelection, { kind: 'many' }> };
  logger: Logger;
  factories: Pick<FleetFactories, 'transport'>;
}

/** The command: the list (and shard) read, each mailbox located, checked, reported; exit 0 all ok, 1 some failed, 4 sign-in refused for all. */
export async function runFleetCheck(r: FleetCheckRun): Promise<number> {
  const { config, logger } = r;
  for (const line of config.mailboxes.warnings) logger.warn(line);
  const list = await readMailboxList(config.mailboxes, r.io.stdin);
  for (const line of list.warnings) logger.warn(line);
  const auth = await resolveAuth(config, r.io);
  const transport = r.factories.transport({ auth, connection: config.connection, settings: config.settings, logger, tuning: config.tuning });
  try {
    const url = config.connection.url;
    const addresses = list.mine.map((m) => m.address);
    const found = url !== undefined ? { located: addresses.map((address) => ({ address, ewsUrl: url.href })), failed: [] } : await locateMany(config.connection, auth, logger, { cacheDir: undefined, tuning: config.tuning }, addresses);
    const checks = await checkMailboxes(transport, found.located, url !== undefined ? { url: url.href } : {});
    const unplaced: MailboxCheck[] = found.failed.map((f) => ({ mailbox: f.address, group: '', anchor: '', ok: false, code: 'autodiscover', advice: `${f.reason}; pass --url` }));
    r.io.stdout.write(formatChecks([...checks, ...unplaced]));
    const failed = [...checks, ...unplaced].filter((c) => !c.ok);
    if (failed.length > 0 && failed.length === checks.length + unplaced.length && failed.every((c) => c.code === 'auth')) return EXIT.auth;
    return failed.length > 0 ? EXIT.failure : EXIT.ok;
  } finally {
    await transport.close();
  }
}
