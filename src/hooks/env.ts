// The environment a hook sees: the inherited one minus our secrets, plus EWS_* variables describing the event.
// Values can come from the server (subject, sender): escape sequences and control characters are removed and the
// length is bounded, so a hook that echoes them to a terminal or a log cannot be steered by a crafted subject.

import { cleanText } from '../base/sanitize.js';
import type { HookEventFields } from './types.js';

export const MAX_ENV_VALUE_CHARS = 1000;

const FIELD_VARS: ReadonlyArray<readonly [keyof HookEventFields, string]> = [
  ['event', 'EWS_EVENT'],
  ['itemId', 'EWS_ITEM_ID'],
  ['folderId', 'EWS_FOLDER_ID'],
  ['subject', 'EWS_SUBJECT'],
  ['from', 'EWS_FROM'],
  ['fromName', 'EWS_FROM_NAME'],
  ['folder', 'EWS_FOLDER'],
  ['mailbox', 'EWS_MAILBOX'],
  ['source', 'EWS_SOURCE'],
  ['timestamp', 'EWS_TIMESTAMP'],
];

/** Every variable a run may set; inherited values of these are dropped so an unknown field is truly unset. */
export const HOOK_VAR_NAMES: ReadonlySet<string> = new Set([...FIELD_VARS.map(([, v]) => v), 'EWS_EVENTS']);

/** Our own credentials are not the hook's business (README "Details, filters and hooks": argv and env are visible enough already). */
const SECRET_VARS: ReadonlySet<string> = new Set(['EWS_PASSWORD', 'EWS_ACCESS_TOKEN', 'EWS_CLIENT_SECRET']);

/** Removes whole escape sequences (not just ESC), turns line breaks into spaces, strips other controls. */
export function sanitizeText(text: string, maxChars = MAX_ENV_VALUE_CHARS): string {
  const clean = cleanText(text);
  return clean.length > maxChars ? `${clean.slice(0, maxChars - 1)}…` : clean;
}

export function hookEnv(fields: HookEventFields): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [field, name] of FIELD_VARS) {
    const v = fields[field];
    if (typeof v === 'string') env[name] = sanitizeText(v);
  }
  return env;
}

/** The full environment of one run. `events` are the folded event names, in arrival order. */
export function buildChildEnv(base: NodeJS.ProcessEnv, fields: HookEventFields, events: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    if (v !== undefined && !HOOK_VAR_NAMES.has(k) && !SECRET_VARS.has(k)) env[k] = v;
  }
  Object.assign(env, hookEnv(fields));
  env.EWS_EVENTS = sanitizeText(events.join(','));
  return env;
}
