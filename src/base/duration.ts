// A duration in a message for people, written one way everywhere: "0.9 s", "1.5 s", "42 s", "5 min" for delays and
// timeouts; a latency ("events arrive in 14 ms") keeps its milliseconds below a second. (A flag's value echoed
// back in its own syntax, "90s", is src/cli/duration.ts's formatMs.)

/** Tenths of a second below 10 s, whole seconds below 2 minutes, then minutes. */
export function formatDuration(ms: number): string {
  const v = Math.max(0, Math.round(ms));
  if (v < 9_950) {
    const tenths = Math.round(v / 100) / 10;
    return `${Number.isInteger(tenths) ? tenths : tenths.toFixed(1)} s`;
  }
  if (v < 119_500) return `${Math.round(v / 1000)} s`;
  return `${Math.round(v / 60_000)} min`;
}

/** As formatDuration, but milliseconds below a second: for how long something took, not how long to wait. */
export function formatLatency(ms: number): string {
  const v = Math.max(0, Math.round(ms));
  return v < 1000 ? `${v} ms` : formatDuration(v);
}
