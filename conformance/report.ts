// What the conformance run prints: the chaos test's figures (missed, doubled, spurious), a timing table per kind of
// change (the EWS call's latency, and the change→event latency where the stream reported it), and the details of
// anything unexpected. Pure: lines of text from the records and the verdict.

import { OP_KINDS, type OpRecord } from './scenario.js';
import type { Line, Verdict } from './verdict.js';

/** The p-th percentile (nearest rank) of a list, or undefined when empty. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** When the stream first reported what a record expects, from the end of its call (ms); undefined when it did not. */
export function eventLatency(record: OpRecord, verdict: Verdict, lines: readonly Line[]): number | undefined {
  const e = record.expect;
  if (!e) return undefined;
  const done = record.at + record.callMs;
  if (e.change === 'folder-create' || e.change === 'folder-delete') {
    const event = e.change === 'folder-create' ? 'Created' : 'Deleted';
    const line = lines.find((l) => l.rec.folderId === e.id && l.rec.event === event && l.rec.source === 'stream');
    return line === undefined ? undefined : line.at - done;
  }
  const line = (verdict.printed.get(`${e.change}:${e.id}`) ?? []).find((l) => l.rec.source === 'stream');
  return line === undefined ? undefined : line.at - done;
}

const ms = (n: number | undefined): string => (n === undefined ? '-' : `${Math.round(n)} ms`);

/** One row per kind of change that happened: count, call p50/max, events streamed, event p50/max. */
export function timingTable(records: readonly OpRecord[], verdict: Verdict, lines: readonly Line[]): string[] {
  const head = ['change', 'count', 'failed', 'call p50', 'call max', 'streamed', 'event p50', 'event max'];
  const rows = OP_KINDS.flatMap((kind) => {
    const of = records.filter((r) => r.kind === kind);
    if (of.length === 0) return [];
    const calls = of.map((r) => r.callMs);
    const events = of.map((r) => eventLatency(r, verdict, lines)).filter((n): n is number => n !== undefined);
    const failed = of.filter((r) => r.error !== undefined).length;
    return [[kind, String(of.length), String(failed), ms(percentile(calls, 50)), ms(Math.max(...calls)), String(events.length), ms(percentile(events, 50)), ms(events.length ? Math.max(...events) : undefined)]];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const format = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [format(head), ...rows.map(format)];
}

/** Server text in a report: control characters out, bounded. */
export function shown(text: string, max = 4096): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, ' ');
  return clean.length > max ? `${clean.slice(0, max)}… (${clean.length - max} more characters)` : clean;
}
