// Folding a burst of events for one item into one hook run. Pure.
// The run carries the LAST event (the freshest ids and folder) but is named after the most significant event of the
// burst, so a Created + NewMail + Modified burst for a new mail runs the hook once, as NewMail.

import type { HookEvent, HookEventFields } from './types.js';

const SIGNIFICANCE: Readonly<Record<string, number>> = { NewMail: 6, Created: 5, Moved: 4, Copied: 3, Modified: 2, Deleted: 1 };

/** What one hook run gets. */
export interface FoldedRun {
  json: string;
  fields: HookEventFields;
  /** Every event name of the burst, in arrival order (EWS_EVENTS). */
  events: string[];
}

/** The most significant name; on a tie the earliest; names we do not rank lose to every ranked one. */
export function mostSignificant(names: readonly string[]): string {
  let best = names[0];
  for (const n of names) if ((SIGNIFICANCE[n] ?? 0) > (SIGNIFICANCE[best] ?? 0)) best = n;
  return best;
}

export function foldEvents(burst: readonly HookEvent[]): FoldedRun {
  if (burst.length === 0) throw new RangeError('foldEvents: empty burst');
  const last = burst[burst.length - 1];
  const events = burst.map((e) => e.fields.event);
  return { json: last.json, fields: { ...last.fields, event: mostSignificant(events) }, events };
}
