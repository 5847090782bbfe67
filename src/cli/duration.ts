// Durations as people type them: 90s, 2m, 1.5h, 500ms, 1d; a bare number is in `unit` (seconds unless said).

import { UsageError } from '../errors.js';

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** The longest --timeout: 24 days, under setTimeout's ceiling (about 24.8 days). */
export const MAX_TIMEOUT_MS = 24 * 86_400_000;

export function formatMs(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Milliseconds, from `min` to `max`; anything else is a UsageError naming the flag. */
export function parseDuration(flag: string, text: string, o: { min: number; max: number; unit?: 'ms' | 's' }): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text);
  if (!m) {
    // A flag counted in milliseconds (--debounce) says so: "90s, 2m or 1h" would mislead there.
    if (o.unit === 'ms') throw new UsageError(`${flag} takes milliseconds (e.g. 2000) or a duration (500ms, 2s), from ${formatMs(o.min)} to ${formatMs(o.max)}; got ${JSON.stringify(text)}`);
    throw new UsageError(`${flag} must be a duration such as 90s, 2m or 1h, got ${JSON.stringify(text)}`);
  }
  const ms = Math.round(Number(m[1]) * (UNITS[(m[2] ?? o.unit ?? 's').toLowerCase()] as number));
  if (ms < o.min || ms > o.max) throw new UsageError(`${flag} must be from ${formatMs(o.min)} to ${formatMs(o.max)}, got ${text.trim()}`);
  return ms;
}
