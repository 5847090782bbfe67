// The file fallback of the credential store: one JSON file (default ~/.config/ews-watch/credentials.json),
// mode 0600 in a 0700 directory, replaced atomically on every change. Used when no OS keychain answers.
// A file that other users can read is refused, never "fixed" silently: the secret may already have leaked.

import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UsageError } from '../errors.js';
import type { CredentialStore } from './types.js';

/** The file is a handful of secrets; anything bigger is not ours. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

interface FileShape {
  version: 1;
  /** service → account → secret */
  services: Record<string, Record<string, string>>;
}

export interface FileStoreOptions {
  path: string;
  service: string;
  /** How to show the path to a person (e.g. with ~ for the home directory). */
  display?: string;
  platform?: NodeJS.Platform;
}

/** `$XDG_CONFIG_HOME/ews-watch/credentials.json`; default ~/.config (on Windows %APPDATA%). */
export function credentialsFilePath(env: Readonly<Record<string, string | undefined>>, home: string, platform: NodeJS.Platform = process.platform): string {
  const xdg = env.XDG_CONFIG_HOME;
  // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const base = xdg && isAbsolutePath(xdg) ? xdg : platform === 'win32' && env.APPDATA ? env.APPDATA : join(home, '.config');
  return join(base, 'ews-watch', 'credentials.json');
}

export function createFileCredentialStore(o: FileStoreOptions): CredentialStore {
  const posix = (o.platform ?? process.platform) !== 'win32';
  const shown = o.display ?? o.path;
  const where = posix ? `${shown} (mode 0600)` : shown;
  // One change at a time in this process, so two concurrent sets never lose one of them.
  let queue: Promise<unknown> = Promise.resolve();
  const update = (change: (entries: Record<string, string>) => boolean): Promise<boolean> => {
    const next = queue.then(() => applyChange(change));
    queue = next.catch(() => undefined);
    return next;
  };
  const applyChange = async (change: (entries: Record<string, string>) => boolean): Promise<boolean> => {
    const data = await readStore(o.path, posix);
    const entries = { ...(data.services[o.service] ?? {}) };
    if (!change(entries)) return false;
    const services = { ...data.services, [o.service]: entries };
    if (Object.keys(entries).length === 0) delete services[o.service];
    await writeStore(o.path, { version: 1, services }, posix);
    return true;
  };
  return {
    kind: 'file',
    where,
    describe: () => where,
    async get(account) {
      const data = await readStore(o.path, posix);
      const secret = data.services[o.service]?.[account];
      return typeof secret === 'string' ? secret : undefined;
    },
    async set(account, secret) {
      await update((entries) => ((entries[account] = secret), true));
    },
    async delete(account) {
      return update((entries) => Object.hasOwn(entries, account) && delete entries[account]);
    },
  };
}

async function readStore(path: string, posix: boolean): Promise<FileShape> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, services: {} };
    throw new UsageError(`cannot read the credentials file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
  }
  if (!st.isFile()) throw new UsageError(`the credentials file ${path} is not a regular file`);
  if (posix) checkPrivate(path, st.mode, st.uid);
  if (st.size > MAX_FILE_BYTES) throw new UsageError(`the credentials file ${path} is larger than 16 MiB; it is not one ews-watch wrote`);
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read the credentials file ${path}: ${err.code ?? 'error'}`, { cause: err });
  });
  return parseStore(text, path);
}

function checkPrivate(path: string, mode: number, uid: number): void {
  const me = process.getuid?.();
  if (me !== undefined && uid !== me) {
    throw new UsageError(`refusing to read the credentials file ${path}: it belongs to another user (uid ${uid}); remove it, then run ews-watch login again`);
  }
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    throw new UsageError(
      `refusing to read the credentials file ${path}: other users can read or change it (mode ${octal}); ` +
        `if that was not intended, change the stored passwords, then run: chmod 600 ${path}`,
    );
  }
}

/** Never quotes the file's text in an error: it holds secrets. */
function parseStore(text: string, path: string): FileShape {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`the credentials file ${path} is not valid JSON; remove it and run ews-watch login again`, { cause: err });
  }
  const services = (data as { services?: unknown } | null)?.services;
  if ((data as { version?: unknown } | null)?.version !== 1 || typeof services !== 'object' || services === null) {
    throw new UsageError(`the credentials file ${path} is not in the format this ews-watch writes (version 1)`);
  }
  const out: FileShape = { version: 1, services: {} };
  for (const [service, entries] of Object.entries(services as Record<string, unknown>)) {
    if (typeof entries !== 'object' || entries === null) continue;
    out.services[service] = Object.fromEntries(Object.entries(entries).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  }
  return out;
}

/** Write a sibling temp file (0600 from the first byte), flush it, then rename over the old one. */
async function writeStore(path: string, data: FileShape, posix: boolean): Promise<void> {
  const dir = dirname(path);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (Object.keys(data.services).length === 0) {
      await unlink(path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      return;
    }
  } catch (err) {
    throw new UsageError(`cannot write the credentials file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
  }
  const tmp = join(dir, `.credentials.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', 0o600).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot write the credentials file ${path}: ${err.code ?? 'error'}`, { cause: err });
  });
  try {
    if (posix) await handle.chmod(0o600);
    await handle.writeFile(`${JSON.stringify(data, null, 2)}\n`, 'utf8');
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(tmp).catch(() => undefined);
    throw new UsageError(`cannot write the credentials file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
  }
  await handle.close();
  try {
    await rename(tmp, path);
    if (posix) await chmod(path, 0o600);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new UsageError(`cannot write the credentials file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
  }
}

function isAbsolutePath(p: string): boolean {
  return p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\');
}
