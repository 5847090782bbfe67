// The list of mailboxes a fleet watches, read: --mailbox's addresses and the mailboxes file (a path, or - for
// standard input) read with a bound, then this process's part of it (--shard). The rules are src/mailboxes/'s.

import { open } from 'node:fs/promises';
import { describeError, UsageError } from '../errors.js';
import type { Mailbox } from '../mailboxes/address.js';
import { decodeMailboxFile, MAX_BYTES, parseMailboxList } from '../mailboxes/list.js';
import { inShard, type Shard } from '../mailboxes/shard.js';
import type { MailboxesFile, MailboxSelection } from './mailbox-selection.js';

export interface ReadList {
  /** Every mailbox named (flags and file), each once, in order. */
  all: readonly Mailbox[];
  /** This process's part (all of them without --shard). */
  mine: readonly Mailbox[];
  /** Lines for stderr, without the `ews-watch: ` prefix. */
  warnings: readonly string[];
}

type Many = Extract<MailboxSelection, { kind: 'many' }>;

/** How messages name the file: its path as given, or "stdin". */
export function sourceOf(file: MailboxesFile): string {
  return file.path === '-' ? 'stdin' : file.path;
}

/** Reads the list; a bad file is a UsageError naming file and line (the caller keeps the old list on SIGHUP). */
export async function readMailboxList(sel: Many, stdin: NodeJS.ReadableStream): Promise<ReadList> {
  const warnings: string[] = [];
  let fromFile: readonly Mailbox[] = [];
  if (sel.file) {
    const source = sourceOf(sel.file);
    const bytes = sel.file.path === '-' ? await readStream(stdin, MAX_BYTES + 1) : await readPath(sel.file, MAX_BYTES + 1);
    const list = parseMailboxList(decodeMailboxFile(bytes, source), source);
    fromFile = list.mailboxes;
    warnings.push(...list.warnings);
  }
  // A mailbox both on --mailbox and in the file is one mailbox: no warning, as both were meant.
  const seen = new Set<string>();
  const all = [...sel.given, ...fromFile].filter((m) => !seen.has(m.key) && (seen.add(m.key), true));
  return { all, mine: sel.shard ? all.filter((m) => inShard(m.key, sel.shard as Shard)) : all, warnings };
}

/** At most `limit` bytes of a file (decodeMailboxFile refuses more than MAX_BYTES, so one more is enough to tell). */
async function readPath(file: MailboxesFile, limit: number): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(file.path, 'r');
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.alloc(Math.min(64 * 1024, limit - total));
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      chunks.push(buf.subarray(0, bytesRead));
      total += bytesRead;
      if (total >= limit) break;
    }
    return Buffer.concat(chunks);
  } catch (err) {
    throw new UsageError(`${file.named} ${file.path}: cannot read it: ${describeError(err)}`, { cause: err });
  } finally {
    await handle?.close();
  }
}

/** Standard input to its end, or to `limit` bytes (it may never end). */
async function readStream(stream: NodeJS.ReadableStream, limit: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    chunks.push(b);
    total += b.length;
    if (total >= limit) break;
  }
  return Buffer.concat(chunks);
}
