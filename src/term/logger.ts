// Chatter for stderr: warnings, errors and -v debug lines. Secrets never get through: every line is passed
// through redact(), which hides Authorization/Cookie header values, any secret registered with addSecret() (the
// transport registers every credential and cookie it sends) and credentials in server text (src/term/redact.ts).
// Server text is quoted in many of these lines (folder names, MessageText): after redaction, every line is cleaned
// of escape sequences, controls and bidi overrides here, in one place, so no call site can forget.

import { cleanLines } from '../base/sanitize.js';
import { createSecretRegistry, type SecretKind } from './redact.js';

export type Verbosity = -1 | 0 | 1;

export interface Logger {
  readonly verbosity: Verbosity;
  /** Registers a value (password, token, derived Basic credential, cookie) that must never be printed. */
  addSecret(secret: string, kind?: SecretKind): void;
  debug(line: string): void;
  info(line: string): void;
  warn(line: string): void;
  error(line: string): void;
  redact(text: string): string;
}

const SECRET_HEADERS = /^(\s*[<>]?\s*)(authorization|proxy-authorization|cookie|set-cookie|www-authenticate)(\s*:\s*)(.*)$/i;

export function redactHeaderLine(line: string): string {
  const m = SECRET_HEADERS.exec(line);
  if (!m) return line;
  const [, lead, name, sep, value] = m;
  const lower = name.toLowerCase();
  if (lower === 'www-authenticate') {
    // The scheme list is useful when debugging sign-in; NTLM challenges after the scheme are not.
    return `${lead}${name}${sep}${value.replace(/^(\S+)\s+\S.*$/, '$1 [redacted]')}`;
  }
  if (lower === 'authorization' || lower === 'proxy-authorization') {
    const scheme = value.split(/\s+/)[0];
    return `${lead}${name}${sep}${scheme} [redacted]`;
  }
  // Cookies: keep the names (which one the server set matters for affinity), hide the values.
  // Cookie: every pair is a cookie; Set-Cookie: the first pair is the cookie, the rest are its attributes.
  const pairs = lower === 'cookie' ? value.split(';') : [value.split(';')[0]];
  const names = pairs.map((c) => c.split('=')[0].trim()).filter((n) => n !== '');
  return `${lead}${name}${sep}${names.map((n) => `${n}=[redacted]`).join('; ')}`;
}

export function createLogger(write: (text: string) => void, verbosity: Verbosity, prefix = 'ews-watch'): Logger {
  const secrets = createSecretRegistry();
  const redact = (text: string): string =>
    secrets.redact(
      text
        .split('\n')
        .map((l) => redactHeaderLine(l))
        .join('\n'),
    );
  // Redaction first: it must see a secret as it was sent, controls and all.
  const emit = (line: string): void => write(`${prefix}: ${cleanLines(redact(line))}\n`);
  return {
    verbosity,
    addSecret: (secret, kind) => secrets.add(secret, kind),
    debug: (line) => {
      if (verbosity >= 1) emit(line);
    },
    info: (line) => {
      if (verbosity >= 0) emit(line);
    },
    warn: (line) => {
      if (verbosity >= 0) emit(`warning: ${line}`);
    },
    error: (line) => emit(line),
    redact,
  };
}
