// One mailbox of a list: the SMTP address as the user wrote it (for display) and the lower-cased key that every
// comparison uses (duplicates, the SIGHUP diff, the shard hash). Pure: no I/O.
//
// Why lower-case the whole address: Exchange finds a mailbox by its SMTP proxy address case-insensitively, local
// part included (RFC 5321 §2.4 lets a server treat the local part as case-sensitive; Exchange does not), so
// Bob@Contoso.com and bob@contoso.com are one mailbox and must be watched once and land in one shard. Only ASCII
// is accepted, so lower-casing does not depend on a locale or a Unicode version.

/** One mailbox of a list. `line` is where a file named it (1-based); absent for a --mailbox flag. */
export interface Mailbox {
  readonly address: string;
  readonly key: string;
  readonly line?: number;
}

/** RFC 5321 §4.5.3.1.3: a path holds at most 256 octets with its angle brackets, so an address at most 254. */
export const MAX_ADDRESS_LENGTH = 254;

// The local part is an RFC 5322 dot-atom (atext runs joined by single dots), at most 64 octets by
// RFC 5321 §4.5.3.1.1; the domain has two or more labels of letters, digits and inner hyphens, each at most 63
// long, by RFC 1035 §2.3.1. Only ASCII: a quoted local part ("a b"@x) or an internationalised address is refused,
// as neither can travel in an X-AnchorMailbox header or a state file name as it is.
const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const ADDRESS = new RegExp(`^${ATEXT}(?:\\.${ATEXT})*@${LABEL}(?:\\.${LABEL})+$`);

/** The key of an address: what Exchange compares. */
export function mailboxKey(address: string): string {
  return address.toLowerCase();
}

/** Whether text is an address we accept (shape only: whether the mailbox exists only the server can tell). */
export function isMailboxAddress(text: string): boolean {
  return text.length <= MAX_ADDRESS_LENGTH && text.lastIndexOf('@') <= 64 && ADDRESS.test(text);
}

/**
 * Why text is not an address, as the end of a one-line error (`"bob@" is not an email address…`), with a hint
 * for the mistakes people make when pasting a list: a display name, several addresses on one line.
 */
export function addressProblem(text: string): string {
  const shown = JSON.stringify(text.length > 80 ? `${text.slice(0, 79)}…` : text);
  const bracketed = /<([^<>\s]+@[^<>\s]+)>/.exec(text);
  if (bracketed && isMailboxAddress(bracketed[1]!)) return `${shown} is not an email address: write the address alone, ${bracketed[1]}`;
  if (/[\s,;]/.test(text) && text.split(/[\s,;]+/).filter((w) => w.includes('@')).length > 1) {
    return `${shown} is not an email address: write one address a line`;
  }
  if (text.length > MAX_ADDRESS_LENGTH) return `${shown} is not an email address: longer than ${MAX_ADDRESS_LENGTH} characters`;
  if (text.lastIndexOf('@') > 64) return `${shown} is not an email address: the part before @ is longer than 64 characters`;
  return `${shown} is not an email address`;
}

/** A mailbox from text known to be an address. */
export function toMailbox(address: string, line?: number): Mailbox {
  return line === undefined ? { address, key: mailboxKey(address) } : { address, key: mailboxKey(address), line };
}
