// The seven EWS event kinds: our short names ('NewMail') and their wire names ('NewMailEvent'). Pure.
// Wire names: protocol-notes.md §1.2 and §3. StatusEvent is not here on purpose: it cannot be subscribed to.
import { EVENT_TYPES, type EventType } from './types.js';

const WIRE_SUFFIX = 'Event';

/** 'NewMail' → 'NewMailEvent', the value of t:EventType and the local name of the event element. */
export function toEwsEventType(t: EventType): string {
  return t + WIRE_SUFFIX;
}

const BY_LOWER = new Map<string, EventType>();
for (const t of EVENT_TYPES) {
  BY_LOWER.set(t.toLowerCase(), t);
  BY_LOWER.set((t + WIRE_SUFFIX).toLowerCase(), t);
}

/** 'newmail', 'NewMail', 'NewMailEvent', 'newmailevent' → 'NewMail'; anything else → undefined. */
export function parseEventTypeName(s: string): EventType | undefined {
  return BY_LOWER.get(s.trim().toLowerCase());
}

const BY_ELEMENT = new Map<string, EventType>(EVENT_TYPES.map((t) => [t + WIRE_SUFFIX, t]));

/** The event type of a notification child element's local name ('CreatedEvent' → 'Created'), exact case. */
export function eventTypeOfElement(localName: string): EventType | undefined {
  return BY_ELEMENT.get(localName);
}
