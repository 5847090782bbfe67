// --from and --subject: a case-insensitive substring, or /regex/flags. Repeating a flag widens it (any pattern may
// match); --from and --subject together narrow (both must match). Only events whose details were fetched can match.

import { UsageError } from '../errors.js';
import { cleanText } from '../base/sanitize.js';
import type { WatchedEvent } from '../base/event.js';

export type Matcher = (text: string) => boolean;

const REGEX = /^\/(.*)\/([a-z]*)$/s;

/** A pattern as typed: `/…/flags` is a regular expression (flags i, m, s, u, v), anything else a substring. */
export function parsePattern(flag: string, text: string): Matcher {
  if (text.trim() === '') throw new UsageError(`${flag} needs a pattern: text to look for, or /regex/`);
  const m = REGEX.exec(text);
  if (!m || m[1] === '') {
    const needle = text.toLowerCase();
    return (s) => s.toLowerCase().includes(needle);
  }
  const [, source, flags] = m as unknown as [string, string, string];
  const bad = flags.replace(/[imsuv]/g, '');
  if (bad !== '') throw new UsageError(`${flag} ${text}: the regular expression flag${bad.length > 1 ? 's' : ''} ${bad} cannot be used here (use i, m, s, u or v)`);
  let re: RegExp;
  try {
    re = new RegExp(source, flags);
  } catch (err) {
    throw new UsageError(`${flag} ${text} is not a valid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
  return (s) => re.test(s);
}

/** The ways a sender can be written: the address, the name, and "Name <address>". */
function senderForms(e: WatchedEvent): string[] {
  const from = e.details?.from;
  if (!from) return [];
  const name = cleanText(from.name ?? '');
  const address = cleanText(from.address ?? '');
  return [address, name, name && address ? `${name} <${address}>` : ''].filter((s) => s !== '');
}

/** undefined when there is nothing to filter; else true for the events to print. */
export function createEventFilter(from: readonly Matcher[], subject: readonly Matcher[]): ((e: WatchedEvent) => boolean) | undefined {
  if (from.length === 0 && subject.length === 0) return undefined;
  return (e) => {
    if (!e.details) return false;
    if (from.length > 0) {
      const forms = senderForms(e);
      if (!from.some((m) => forms.some((f) => m(f)))) return false;
    }
    if (subject.length > 0) {
      const s = cleanText(e.details.subject ?? '');
      if (!subject.some((m) => m(s))) return false;
    }
    return true;
  };
}
