// ./.env (or --env-file): read with Node's own parseEnv, plus what parseEnv keeps quiet about: lines it cannot read
// (one without '=' is silently glued to the next line, which is then lost too; an opening quote never closed is
// kept as part of the value) and secrets in a file other users can read. Such lines are left out, with a warning
// that names the line and the variable, never a value: a mistyped line may be a password.

import { readFileSync, statSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { UsageError } from '../errors.js';
import type { Env } from './config.js';

/** Variables whose values are secrets: a .env holding one must be private, like the credentials file. */
const SECRET_VARS = ['EWS_PASSWORD', 'EWS_CLIENT_SECRET', 'EWS_ACCESS_TOKEN'] as const;

export interface Dotenv {
  vars: Env;
  /** How messages name the file: ./.env, or the --env-file path as given. */
  name: string;
}

export function loadDotenv(envFile: string | undefined, cwd: string, warn: (line: string) => void, platform: NodeJS.Platform = process.platform): Dotenv {
  const path = envFile ?? `${cwd}/.env`;
  const name = envFile ?? './.env';
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (envFile === undefined && (err as NodeJS.ErrnoException).code === 'ENOENT') return { vars: {}, name };
    throw new UsageError(`cannot read ${envFile ? `--env-file ${envFile}` : path}: ${(err as Error).message}`, { cause: err });
  }
  const readable = readableLines(text);
  for (const problem of readable.problems) warn(`${name} ${problem}`);
  const vars = parseEnv(readable.text) as Env;
  const secret = SECRET_VARS.find((v) => vars[v]);
  if (secret && platform !== 'win32') {
    const mode = statSync(path).mode;
    if ((mode & 0o077) !== 0) {
      const octal = (mode & 0o777).toString(8).padStart(4, '0');
      warn(`${name} holds ${secret} and other users can ${mode & 0o044 ? 'read' : 'change'} it (mode ${octal}); chmod 600 ${name}`);
    }
  }
  return { vars, name };
}

/**
 * The text with the lines parseEnv would misread blanked out, and a problem for each: "line 3 is not NAME=value;
 * ignored", "line 7: EWS_PASSWORD opens a quote that is never closed; ignored". A value in quotes may run over
 * several lines when its closing quote comes later, as parseEnv reads it.
 */
export function readableLines(text: string): { text: string; problems: string[] } {
  const lines = text.split(/\r?\n/);
  const problems: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*(?:export\s+)?([^=#]*?)\s*=\s*(.*)$/.exec(lines[i] as string);
    if (/^\s*(#|$)/.test(lines[i] as string)) continue;
    if (!m || !m[1]) {
      problems.push(`line ${i + 1} is not NAME=value; ignored`);
      lines[i] = '';
      continue;
    }
    const quote = (m[2] as string)[0];
    if ((quote === '"' || quote === "'" || quote === '`') && (m[2] as string).indexOf(quote, 1) < 0) {
      const end = lines.findIndex((l, j) => j > i && l.includes(quote));
      if (end > 0) {
        i = end;
        continue;
      }
      // Only a plain name is shown: whatever else stands before the '=' could be part of a secret.
      problems.push(`line ${i + 1}${/^[A-Za-z_][A-Za-z0-9_]*$/.test(m[1]) ? `: ${m[1]}` : ''} opens a quote that is never closed; ignored`);
      lines[i] = '';
    }
  }
  return { text: lines.join('\n'), problems };
}
