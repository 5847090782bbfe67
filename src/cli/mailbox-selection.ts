// Which mailboxes a watch is about, from --mailbox (repeatable, comma lists), --mailboxes-file and --shard, or from
// EWS_MAILBOX, EWS_MAILBOXES_FILE and EWS_SHARD: one mailbox (today's watch, unchanged) or many (the fleet,
// fleet-watch.ts). Pure: the file is named here and read by the command. README "Many mailboxes".
//
// Precedence (precedence.ts), for "which mailboxes" as ONE setting: any of --mailbox or --mailboxes-file given
// replaces both variables (the flags' mailboxes and file together are the list); else EWS_MAILBOX and
// EWS_MAILBOXES_FILE, each from the environment or else .env, make it together. --shard beats EWS_SHARD as usual.
// Why one setting: a .env written for one mailbox must not quietly add that mailbox to the list a flag names.

import { UsageError } from '../errors.js';
import { splitMailboxFlags } from '../mailboxes/list.js';
import type { Mailbox } from '../mailboxes/address.js';
import { parseShard, type Shard } from '../mailboxes/shard.js';
import type { Lookup } from './precedence.js';

/** The flags as commander gives them: --mailbox collected, every value as typed. */
export interface MailboxFlags {
  /** Each --mailbox value (a value may be a comma list). */
  mailboxes?: string[];
  mailboxesFile?: string;
  shard?: string;
}

export interface MailboxesFile {
  /** As given: a path, or '-' for standard input. */
  readonly path: string;
  /** How messages name the setting: --mailboxes-file, or EWS_MAILBOXES_FILE (from the environment). */
  readonly named: string;
}

export type MailboxSelection =
  /** Today's watch of one mailbox; `mailbox`: the --mailbox flag's one address (undefined: from EWS_MAILBOX or the user). */
  | { readonly kind: 'one'; readonly mailbox?: string; readonly warnings: readonly string[] }
  | {
      readonly kind: 'many';
      /** From --mailbox / EWS_MAILBOX (checked, duplicates folded); the file's come when it is read. */
      readonly given: readonly Mailbox[];
      readonly file?: MailboxesFile;
      readonly shard?: Shard;
      /** Lines for stderr (duplicates), without the `ews-watch: ` prefix. */
      readonly warnings: readonly string[];
    };

/** One mailbox, unless the values name several, or a file or a shard is given: then many. */
export function resolveMailboxSelection(flags: MailboxFlags, vars: Lookup): MailboxSelection {
  const fromFlags = (flags.mailboxes?.length ?? 0) > 0 || flags.mailboxesFile !== undefined;
  const env = vars.variable('EWS_MAILBOX');
  const envFile = vars.variable('EWS_MAILBOXES_FILE');
  const values = fromFlags ? (flags.mailboxes ?? []) : env.value !== undefined ? [env.value] : [];
  const valuesNamed = fromFlags ? '--mailbox' : vars.describe(env.source, '--mailbox', 'EWS_MAILBOX');
  const file = fromFlags ? fileFlag(flags.mailboxesFile) : envFile.value !== undefined ? { path: envFile.value, named: vars.describe(envFile.source, '--mailboxes-file', 'EWS_MAILBOXES_FILE') } : undefined;
  const shardSetting = vars.pick(flags.shard, 'EWS_SHARD');
  const shard = shardSetting.value === undefined ? undefined : parseShard(shardSetting.value, vars.describe(shardSetting.source, '--shard', 'EWS_SHARD'));
  const items = values.flatMap((v) => v.split(',')).filter((s) => s.trim() !== '');
  // One value naming one address: exactly today's path, its checks and messages (resolveConnection).
  if (file === undefined && shard === undefined && values.length === 1 && items.length === 1 && !values[0]!.includes(',')) {
    return { kind: 'one', ...(fromFlags ? { mailbox: values[0]! } : {}), warnings: [] };
  }
  const list = values.length > 0 ? splitMailboxFlags(values, valuesNamed) : { mailboxes: [], warnings: [] };
  if (file === undefined && shard === undefined && list.mailboxes.length <= 1) {
    // `--mailbox a@x --mailbox A@x`, `--mailbox a@x,`: still one mailbox, watched as today.
    return { kind: 'one', ...(fromFlags && list.mailboxes[0] ? { mailbox: list.mailboxes[0].address } : {}), warnings: list.warnings };
  }
  if (list.mailboxes.length === 0 && file === undefined) {
    throw new UsageError(`${vars.describe(shardSetting.source, '--shard', 'EWS_SHARD')} splits a list of mailboxes: name them with --mailboxes-file FILE or --mailbox a@contoso.com,b@contoso.com`);
  }
  return { kind: 'many', given: list.mailboxes, ...(file ? { file } : {}), ...(shard ? { shard } : {}), warnings: list.warnings };
}

function fileFlag(path: string | undefined): MailboxesFile | undefined {
  if (path === undefined) return undefined;
  if (path.trim() === '') throw new UsageError('--mailboxes-file needs a file name (or - for standard input)');
  return { path, named: '--mailboxes-file' };
}
