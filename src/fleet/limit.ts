// Runs one async step per item with at most `limit` of them in flight: the fleet's Subscribes and catch-ups, so a
// group of 200 does not queue 200 requests at once behind the account's budget (protocol-notes.md §4.5, "Budgets").

/** Calls `step` for every item, at most `limit` at a time, in order of the list; resolves when all have settled. */
export async function forEachLimited<T>(items: readonly T[], limit: number, step: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await step(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
