// Opaque SyncState strings for SyncFolderItems and SyncFolderHierarchy. Like Exchange's (which start "H4sI"),
// they are base64 of gzip data; inside: a version, the kind, the folder's number, the change-log watermark,
// the full-sync snapshot (items only) and the set of numbers the client has been told exist, then an HMAC
// keyed per mailbox instance. Garbage, a state of another kind, folder or simulator fails to decode.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';

export interface SyncState {
  kind: 'items' | 'folders';
  /** Items: the synced folder's number; folders: the sync root's number. */
  folder: number;
  /** Every change with a seq at or below this is reflected in what the client holds. */
  watermark: number;
  /** Items only, while the newest-first enumeration of a full sync is still running: the seq it started at. */
  snapshot?: number;
  /** Numbers (creation seqs) of the items or folders the client holds. */
  given: ReadonlySet<number>;
}

const VERSION = 1;
const MAC_BYTES = 12;
/** The decoded state is at most this large (bounds gunzip against a hostile input). */
const MAX_STATE_BYTES = 512 * 1024;
const MAX_GIVEN = 200_000;

const keys = new WeakMap<object, Buffer>();

/** One random key per mailbox instance: a state from another simulator run does not verify. */
function keyFor(owner: object): Buffer {
  let key = keys.get(owner);
  if (!key) keys.set(owner, (key = randomBytes(32)));
  return key;
}

function writeVarint(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/** Sorted numbers as runs: (gap from the previous run's end, run length). */
function writeSet(out: number[], set: ReadonlySet<number>): void {
  const sorted = [...set].sort((a, b) => a - b);
  const runs: Array<[number, number]> = [];
  for (const n of sorted) {
    const last = runs[runs.length - 1];
    if (last && n === last[0] + last[1]) last[1]++;
    else runs.push([n, 1]);
  }
  writeVarint(out, runs.length);
  let end = 0;
  for (const [start, length] of runs) {
    writeVarint(out, start - end);
    writeVarint(out, length);
    end = start + length;
  }
}

export function encodeSyncState(owner: object, state: SyncState): string {
  const body: number[] = [VERSION, state.kind === 'items' ? 1 : 2];
  writeVarint(body, state.folder);
  writeVarint(body, state.watermark);
  writeVarint(body, state.snapshot ?? 0);
  writeSet(body, state.given);
  const payload = Buffer.from(body);
  const mac = createHmac('sha256', keyFor(owner)).update(payload).digest().subarray(0, MAC_BYTES);
  return gzipSync(Buffer.concat([payload, mac])).toString('base64');
}

class Reader {
  at = 0;
  constructor(readonly bytes: Buffer) {}
  varint(): number {
    let value = 0;
    for (let shift = 0; shift < 49; shift += 7) {
      const byte = this.bytes[this.at++];
      if (byte === undefined) throw new RangeError('truncated');
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    throw new RangeError('varint too long');
  }
  set(): Set<number> {
    const runs = this.varint();
    const out = new Set<number>();
    let end = 0;
    for (let i = 0; i < runs; i++) {
      const start = end + this.varint();
      const length = this.varint();
      if (out.size + length > MAX_GIVEN) throw new RangeError('set too large');
      for (let n = start; n < start + length; n++) out.add(n);
      end = start + length;
    }
    return out;
  }
}

/** The state, or undefined when it is not one this mailbox issued for `kind` (ErrorInvalidSyncStateData). */
export function decodeSyncState(owner: object, kind: SyncState['kind'], text: string): SyncState | undefined {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) return undefined;
  try {
    const raw = gunzipSync(Buffer.from(trimmed, 'base64'), { maxOutputLength: MAX_STATE_BYTES });
    if (raw.length <= MAC_BYTES + 2) return undefined;
    const payload = raw.subarray(0, raw.length - MAC_BYTES);
    const mac = createHmac('sha256', keyFor(owner)).update(payload).digest().subarray(0, MAC_BYTES);
    if (!timingSafeEqual(mac, raw.subarray(raw.length - MAC_BYTES))) return undefined;
    if (payload[0] !== VERSION || payload[1] !== (kind === 'items' ? 1 : 2)) return undefined;
    const reader = new Reader(payload);
    reader.at = 2;
    const folder = reader.varint();
    const watermark = reader.varint();
    const snapshot = reader.varint();
    const given = reader.set();
    if (reader.at !== payload.length) return undefined;
    return { kind, folder, watermark, ...(snapshot > 0 ? { snapshot } : {}), given };
  } catch {
    return undefined;
  }
}
