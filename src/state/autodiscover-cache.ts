// The autodiscover answer for one address, kept a day beside that mailbox's sync states (Learn "Improving
// performance when using Autodiscover": "refresh Autodiscover information every 24 hours"). Read and written
// like the other state files: never through a link (files.ts), bounded, written to a temp file and renamed over.

import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { StateFileRefused } from './errors.js';
import { ensurePrivateDir, kindOf, readRegular, writeAtomically } from './files.js';
import { mailboxDirName, normaliseMailbox } from './paths.js';

export const AUTODISCOVER_FILE_NAME = 'autodiscover.json';
export const AUTODISCOVER_TTL_MS = 24 * 3600 * 1000;
const MAX_BYTES = 16 * 1024;

export interface CachedServer {
  ewsUrl: string;
  /** Where autodiscover found it ("SOAP https://…/autodiscover.svc"). */
  via: string;
  groupingInformation?: string;
  /** ISO time of the discovery. */
  foundAt: string;
}

const fileOf = (root: string, address: string): { dir: string; file: string } => {
  const dir = join(root, mailboxDirName(address));
  return { dir, file: join(dir, AUTODISCOVER_FILE_NAME) };
};

/**
 * The cached answer when it is younger than a day and names an https URL; undefined when missing, old or not ours
 * (the next discovery replaces it). A link or a FIFO in its place is refused (StateFileRefused, exit 2).
 */
export async function readCachedServer(root: string, address: string, now: Date): Promise<CachedServer | undefined> {
  const { file } = fileOf(root, address);
  let r;
  try {
    r = await readRegular(file, MAX_BYTES);
  } catch (err) {
    if (err instanceof StateFileRefused) throw err;
    return undefined;
  }
  if ('missing' in r || r.stats.size > MAX_BYTES) return undefined;
  return decodeCache(r.text, address, now);
}

export function decodeCache(text: string, address: string, now: Date): CachedServer | undefined {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object' || v.version !== 1 || v.address !== normaliseMailbox(address)) return undefined;
  const { ewsUrl, via, foundAt, groupingInformation } = v;
  if (typeof ewsUrl !== 'string' || typeof via !== 'string' || typeof foundAt !== 'string' || !/^https:\/\//i.test(ewsUrl)) return undefined;
  const age = now.getTime() - Date.parse(foundAt);
  if (!(age >= 0 && age < AUTODISCOVER_TTL_MS)) return undefined;
  return { ewsUrl, via, foundAt, ...(typeof groupingInformation === 'string' ? { groupingInformation } : {}) };
}

/** Writes the answer atomically into the mailbox's directory (as the store makes it; a link there is refused). */
export async function writeCachedServer(root: string, address: string, entry: CachedServer): Promise<void> {
  const { dir, file } = fileOf(root, address);
  await ensurePrivateDir(root, dir);
  const existing = await lstat(file).catch(() => undefined);
  const kind = existing && kindOf(existing);
  if (kind !== undefined) throw new StateFileRefused(file, kind);
  await writeAtomically(dir, AUTODISCOVER_FILE_NAME, `${JSON.stringify({ version: 1, address: normaliseMailbox(address), ...entry })}\n`);
}
