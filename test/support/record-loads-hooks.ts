// Module hooks (Node's module.register) that note each resolved import URL, one a line, in the file given at
// registration. They run on the loader's own thread, so they write synchronously and keep nothing in memory.

import { appendFileSync } from 'node:fs';

let file: string | undefined;

export function initialize(data: { file?: string }): void {
  file = data.file;
}

type Resolved = { url: string };

export async function resolve(specifier: string, context: unknown, next: (s: string, c: unknown) => Promise<Resolved>): Promise<Resolved> {
  const resolved = await next(specifier, context);
  if (file) appendFileSync(file, `${resolved.url}\n`);
  return resolved;
}
