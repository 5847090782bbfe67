// The one table from error to exit code (README "Exit status").

import { AuthError, UsageError } from '../errors.js';

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  auth: 4,
  timeout: 124,
  interrupted: 130,
} as const;

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof AuthError) return EXIT.auth;
  return EXIT.failure;
}
