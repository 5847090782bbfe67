// One voice for writes of the sync state that fail (the state files, printed.ledger): a full disk, a quota, an
// I/O error. The first failure is one warning line; later failures while it lasts are folded into it (a new line
// only for a new reason); one line says when every write went through again. Whoever failed retries on its own.
// An episode ends only when nothing is failing and no write is in flight: a save that began while the disk was
// full and fails just after another source recovered belongs to the same episode, not to a new warning.

import { stripControl } from '../base/sanitize.js';

/** How long after a failed write of the sync state it is tried again (also on the next write, for the ledger). */
export const WRITE_RETRY_MS = 5_000;

export interface WriteHealth {
  /** `source` (e.g. 'ledger', 'state of inbox') could not be written. */
  failed(source: string, err: unknown): void;
  /** `source` was written (everything it had waiting, too). */
  recovered(source: string): void;
  /**
   * An asynchronous write begins; the function returned ends it, after its outcome was reported with failed() or
   * recovered() (or not at all, when it was dropped). Until then no episode ends.
   */
  writing(): () => void;
  /** Whether some write is still failing. */
  readonly failing: boolean;
}

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large (a file size limit)',
  EIO: 'input/output error',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'a directory is in the way',
  ENOTDIR: 'a file is in the way of the directory',
  ENOENT: 'the directory is gone',
  EMFILE: 'too many open files',
};

/** A short reason: the errno's meaning when one is found along the causes, else the message. */
export function writeFailureReason(err: unknown): string {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth += 1) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && REASONS[code] !== undefined) return REASONS[code];
  }
  const text = stripControl(err instanceof Error ? err.message : String(err));
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

export function createWriteHealth(o: { dir: string; warn(line: string): void; info(line: string): void }): WriteHealth {
  const failing = new Map<string, string>();
  /** Reasons reported since the first failure of this episode (empty: no episode). */
  const told = new Set<string>();
  let inFlight = 0;
  const settle = (): void => {
    if (told.size === 0 || failing.size > 0 || inFlight > 0) return;
    told.clear();
    o.info(`the sync state in ${o.dir} is written again`);
  };
  return {
    failed(source, err) {
      const reason = writeFailureReason(err);
      failing.set(source, reason);
      if (told.has(reason)) return;
      told.add(reason);
      o.warn(`cannot write the sync state in ${o.dir}: ${reason}; events keep printing, the state catches up when it can`);
    },
    recovered(source) {
      if (failing.delete(source)) settle();
    },
    writing() {
      inFlight += 1;
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        inFlight -= 1;
        settle();
      };
    },
    get failing() {
      return failing.size > 0;
    },
  };
}
