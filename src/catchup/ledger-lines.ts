// The lines of printed.ledger, encoded and decoded, and the copies the ledger keeps of strings. Pure: no I/O.
// `origin TAB key [TAB changeKey|- [TAB folder]]` records a printed change (a later line for the same key replaces
// an earlier one); `intent TAB key [TAB - TAB folder]` records a change whose line is about to be written to
// standard output (without a later line of its key: maybe printed; no longer than the record that answers it, so
// that answered intents alone never make the file twice what is live); `prune [TAB folder]` drops every earlier
// line of that folder (none: of no folder). Older versions skip prune and intent lines, as any line they cannot
// read, so they read a newer file as if the intents were not there.

export type Origin = 'stream' | 'catch-up';

/** What fits on a line: no whitespace (it separates the columns), bounded. */
export const KEY = /^(?:create|modify|delete):\S{1,2048}$/;
export const CHANGE_KEY = /^\S{1,512}$/;
export const FOLDER = /^\S{1,2048}$/;
const LINE = /^(stream|catch-up)\t((?:create|modify|delete):\S{1,2048})(?:\t(\S{1,512}))?(?:\t(\S{1,2048}))?$/;
const PRUNE = /^prune(?:\t(\S{1,2048}))?$/;
const INTENT = /^intent\t((?:create|modify|delete):\S{1,2048})(?:\t-\t(\S{1,2048}))?$/;

export interface LineFields {
  origin: Origin;
  changeKey?: string | undefined;
  folder?: string | undefined;
}

export type ParsedLine =
  | { kind: 'entry'; key: string; fields: LineFields }
  | { kind: 'intent'; key: string; folder: string | undefined }
  | { kind: 'prune'; folder: string | undefined };

export function formatLine(key: string, e: LineFields): string {
  const ck = e.changeKey !== '-' ? e.changeKey : undefined;
  const tail = e.folder !== undefined ? `\t${ck ?? '-'}\t${e.folder}` : ck !== undefined ? `\t${ck}` : '';
  return `${e.origin}\t${key}${tail}\n`;
}

/** The intent of a change about to be printed: neither origin nor ChangeKey count for a maybe-printed change. */
export const formatIntent = (key: string, folder: string | undefined): string => (folder === undefined ? `intent\t${key}\n` : `intent\t${key}\t-\t${folder}\n`);

export const formatPrune = (folder: string | undefined): string => (folder === undefined ? 'prune\n' : `prune\t${folder}\n`);

/** A whole line (without its newline); undefined for anything else (a foreign or damaged line). */
export function parseLine(l: string): ParsedLine | undefined {
  const m = LINE.exec(l);
  if (m) {
    const changeKey = m[3] !== undefined && m[3] !== '-' ? m[3] : undefined;
    return { kind: 'entry', key: m[2] as string, fields: { origin: m[1] as Origin, changeKey, folder: m[4] } };
  }
  const i = INTENT.exec(l);
  if (i) return { kind: 'intent', key: i[1] as string, folder: i[2] };
  const p = PRUNE.exec(l);
  return p ? { kind: 'prune', folder: p[1] } : undefined;
}

/**
 * A copy sharing no memory with `s`: V8 keeps a slice (or a concatenation) of a string as a view of the whole,
 * so an id cut from a 3 MB envelope would keep the envelope alive for as long as the ledger keeps the id.
 */
export function ownCopy(s: string): string {
  return /^[\x00-\xff]*$/.test(s) ? Buffer.from(s, 'latin1').toString('latin1') : Buffer.from(s, 'utf16le').toString('utf16le');
}
