// Which mailboxes share a GetStreamingEvents connection: Microsoft's grouping (same EWS URL and GroupingInformation,
// at most 200 a group, the alphabetically first member the anchor), kept stable across re-reads of the mailbox list
// so that adding or removing one mailbox changes only its own group. Pure (protocol-notes.md §4.5).

/** Learn "Maintain affinity between a group of subscriptions and the Mailbox server": at most 200 ids a request. */
export const MAX_GROUP_SIZE = 200;

/** What Microsoft's multi-mailbox sample uses when autodiscover gives no GroupingInformation. */
export const NO_GROUPING = 'none';

/** A mailbox and where autodiscover found it. */
export interface Located {
  address: string;
  ewsUrl: string;
  groupingInformation?: string;
}

export interface Group {
  /** Stable while the group lives: "<GroupingInformation> <EWS URL> #<n>". */
  id: string;
  /** The normalised EWS URL and GroupingInformation ("none" when absent, or in --url mode) the members share. */
  ewsUrl: string;
  groupingInformation: string;
  /** The alphabetically first member (compared lower-cased), as Microsoft's page chooses it. */
  anchor: string;
  /** Sorted by lower-cased address; at most MAX_GROUP_SIZE. */
  members: string[];
}

export interface GroupingOptions {
  /**
   * --url: every mailbox is served by this URL; groups are formed per URL only, GroupingInformation ignored (what
   * the mailboxes' own entries say is not used).
   */
  url?: string;
  /** The groups of the previous reading of the list (SIGHUP): members stay where they were. */
  previous?: readonly Group[];
}

/** Scheme and host lower-cased (default port dropped), the path and query exactly as the server wrote them. */
export function normaliseEwsUrl(url: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/s.exec(url.trim());
  if (!m) throw new RangeError(`not an absolute URL: ${JSON.stringify(url.slice(0, 200))}`);
  const scheme = m[1]!.toLowerCase();
  const defaultPort = scheme === 'https' ? ':443' : scheme === 'http' ? ':80' : undefined;
  let host = m[2]!.toLowerCase();
  if (defaultPort !== undefined && host.endsWith(defaultPort)) host = host.slice(0, -defaultPort.length);
  return `${scheme}://${host}${m[3]}`;
}

interface Slot {
  key: string;
  n: number;
  ewsUrl: string;
  groupingInformation: string;
  members: string[];
}

const keyOf = (ewsUrl: string, grouping: string): string => `${grouping} ${ewsUrl}`;
const lower = (a: string): string => a.toLowerCase();
const byLower = (a: string, b: string): number => (lower(a) < lower(b) ? -1 : lower(a) > lower(b) ? 1 : 0);

/**
 * The groups for a list of mailboxes. Why not sorted chunks of 200: adding one address early in the alphabet would
 * shift a member of every later chunk into the next, so every connection would reopen. Instead, members of
 * `previous` stay in their group (while their URL and grouping are unchanged), and each new mailbox, taken in
 * lower-cased alphabetical order so the first reading is deterministic, joins the first group of its key with room,
 * else a new one. Adding or removing one mailbox therefore changes one group. The price: removals can leave groups
 * less than full; they are not merged, as merging would reopen two connections to save one.
 */
export function groupMailboxes(mailboxes: readonly Located[], o: GroupingOptions = {}): Group[] {
  const wanted = new Map<string, { address: string; ewsUrl: string; grouping: string }>();
  for (const m of mailboxes) {
    if (wanted.has(lower(m.address))) continue;
    const ewsUrl = normaliseEwsUrl(o.url ?? m.ewsUrl);
    const grouping = o.url !== undefined ? NO_GROUPING : m.groupingInformation?.trim() || NO_GROUPING;
    wanted.set(lower(m.address), { address: m.address, ewsUrl, grouping });
  }
  const slots = keep(o.previous ?? [], wanted);
  const placed = new Set(slots.flatMap((s) => s.members.map(lower)));
  const fresh = [...wanted.values()].filter((w) => !placed.has(lower(w.address))).sort((a, b) => byLower(a.address, b.address));
  for (const w of fresh) {
    const key = keyOf(w.ewsUrl, w.grouping);
    const same = slots.filter((s) => s.key === key).sort((a, b) => a.n - b.n);
    let slot = same.find((s) => s.members.length < MAX_GROUP_SIZE);
    if (!slot) {
      const used = new Set(same.map((s) => s.n));
      let n = 1;
      while (used.has(n)) n++;
      slot = { key, n, ewsUrl: w.ewsUrl, groupingInformation: w.grouping, members: [] };
      slots.push(slot);
    }
    slot.members.push(w.address);
  }
  return slots
    .filter((s) => s.members.length > 0)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.n - b.n))
    .map((s) => {
      const members = [...s.members].sort(byLower);
      return { id: `${s.key} #${s.n}`, ewsUrl: s.ewsUrl, groupingInformation: s.groupingInformation, anchor: members[0]!, members };
    });
}

/** The previous groups with the members that are still listed and still belong to the group's URL and grouping. */
function keep(previous: readonly Group[], wanted: ReadonlyMap<string, { address: string; ewsUrl: string; grouping: string }>): Slot[] {
  const seen = new Set<string>();
  return previous.map((g) => {
    const key = keyOf(g.ewsUrl, g.groupingInformation);
    const n = Number(/ #(\d+)$/.exec(g.id)?.[1] ?? 1);
    const members: string[] = [];
    for (const a of g.members) {
      const w = wanted.get(lower(a));
      if (w === undefined || seen.has(lower(a)) || keyOf(w.ewsUrl, w.grouping) !== key || members.length >= MAX_GROUP_SIZE) continue;
      seen.add(lower(a));
      members.push(w.address);
    }
    return { key, n, ewsUrl: g.ewsUrl, groupingInformation: g.groupingInformation, members };
  });
}
