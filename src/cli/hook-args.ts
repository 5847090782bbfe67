// Hooks on the command line, taken out before commander parses the rest:
//
//   --on <events> --exec <program> [args…] [';']      …more options and hooks may follow a lone ';'
//   -- <program> [args…]                                the same as --exec, to the end of the line (';' too)
//
// Everything after --exec (or --) up to a lone ';' (or the end) is the program and its arguments, passed as they
// are, with no shell: quoting is the shell's job, before ews-watch sees the words. `--on` names the events the
// next --exec runs for. Option values are skipped by knowing which flags take one, so `--subject --exec` is a
// subject, not a hook. check/login/logout/help take no hooks: their command lines pass through untouched.

import { UsageError } from '../errors.js';

export interface RawHook {
  /** The --on list as typed, when one preceded this --exec. */
  events?: string;
  argv: [string, ...string[]];
}

const NO_HOOKS = new Set(['check', 'login', 'logout', 'help']);

export function splitHookArgs(argv: readonly string[], valueFlags: ReadonlySet<string>): { argv: string[]; hooks: RawHook[] } {
  const out: string[] = [];
  const hooks: RawHook[] = [];
  let on: string | undefined;
  let command: string | undefined;
  for (let i = 0; i < argv.length; ) {
    const t = argv[i] as string;
    if (command !== undefined && NO_HOOKS.has(command)) {
      out.push(...argv.slice(i));
      break;
    }
    if (t === '--exec' || t === '--') {
      // `--` means "the rest is literal", as everywhere: its hook runs to the end, a ';' included.
      const end = t === '--' ? -1 : argv.indexOf(';', i + 1);
      const words = argv.slice(i + 1, end < 0 ? argv.length : end);
      if (words.length === 0 || words[0] === '') throw new UsageError(`${t} needs a program to run, e.g. ${t} notify-send "New mail"`);
      hooks.push({ ...(on !== undefined ? { events: on } : {}), argv: words as [string, ...string[]] });
      on = undefined;
      i = end < 0 ? argv.length : end + 1;
      continue;
    }
    if (t === '--on' || t.startsWith('--on=')) {
      const value = t === '--on' ? argv[i + 1] : t.slice('--on='.length);
      if (value === undefined) throw new UsageError('--on needs a list of events, e.g. --on NewMail --exec notify-send "New mail"');
      if (on !== undefined) throw new UsageError(`--on ${on} is not followed by --exec <program>`);
      on = value;
      i += t === '--on' ? 2 : 1;
      continue;
    }
    if (t.startsWith('--exec=')) throw new UsageError('--exec takes the program and its arguments as separate words: --exec notify-send "New mail"');
    out.push(t);
    i += 1;
    if (valueFlags.has(t) && i < argv.length) out.push(argv[i++] as string);
    else if (!t.startsWith('-') && command === undefined) command = t;
  }
  if (on !== undefined) throw new UsageError(`--on ${on} must be followed by --exec <program> [args…]`);
  return { argv: out, hooks };
}
