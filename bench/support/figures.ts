// One figure of the benchmark: ews-watch's number, its yardstick's number measured in the same run, the ratio and
// the issue's target; how one is printed as it is measured, and the summary table of all of them at the end.
// A missed target is printed ("over"), never turned into a failing exit status: the machine is shared and noisy.

export interface Figure {
  /** e.g. "idle CPU, stderr not a terminal". */
  what: string;
  ours: number;
  /** Undefined for an absolute target (no yardstick). */
  yardstick?: number;
  unit: string;
  /** What the yardstick is, e.g. "bare undici". */
  against?: string;
  /** The bound: on the ratio when there is a yardstick, else on `ours`. None: a figure shown for information. */
  target?: { op: '≤' | '<' | '≥' | '='; value: number };
  /** Anything a reader needs beside the numbers. */
  note?: string;
}

const figures: Figure[] = [];
/** Lines for sections that could not be measured (they still appear in the summary). */
const failures: string[] = [];

export const ratioOf = (f: Figure): number | undefined => (f.yardstick === undefined ? undefined : f.yardstick === 0 ? Infinity : f.ours / f.yardstick);

/** Whether the target is met; undefined for a figure without one. */
export function met(f: Figure): boolean | undefined {
  if (!f.target) return undefined;
  const v = ratioOf(f) ?? f.ours;
  const t = f.target.value;
  return f.target.op === '≤' ? v <= t : f.target.op === '<' ? v < t : f.target.op === '≥' ? v >= t : v === t;
}

const mark = (f: Figure): string => ({ true: 'PASS', false: 'over', undefined: 'info' })[String(met(f)) as 'true' | 'false' | 'undefined'];

export function num(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a >= 100 ? Math.round(v).toLocaleString('en-US') : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
}

function targetText(f: Figure): string {
  if (!f.target) return 'none';
  return f.yardstick === undefined ? `${f.target.op} ${num(f.target.value)} ${f.unit}` : `${f.target.op} ${f.target.value}×`;
}

/** "idle CPU 5.1 ms/min vs bare undici 4.2 ms/min = 1.21× (target ≤ 1.5×) PASS" */
export function describe(f: Figure): string {
  const ratio = ratioOf(f);
  const head = `${f.what}: ${num(f.ours)} ${f.unit}`;
  const body = ratio === undefined ? head : `${head} vs ${f.against} ${num(f.yardstick!)} ${f.unit} = ${num(ratio)}×`;
  return `${body} (target ${targetText(f)}) ${mark(f)}${f.note ? `; ${f.note}` : ''}`;
}

export function report(f: Figure): void {
  figures.push(f);
  console.log(`  → ${describe(f)}`);
}

export function reportFailure(section: string, err: unknown): void {
  const text = `${section}: not measured (${err instanceof Error ? err.message : String(err)})`;
  failures.push(text);
  console.log(`  → ${text}`);
}

export function summary(): string[] {
  const rows = figures.map((f) => {
    const ratio = ratioOf(f);
    return [f.what, `${num(f.ours)} ${f.unit}`, f.yardstick === undefined ? '—' : `${num(f.yardstick)} ${f.unit}`, ratio === undefined ? '—' : `${num(ratio)}×`, targetText(f), mark(f)];
  });
  const head = ['figure', 'ews-watch', 'yardstick', 'ratio', 'target', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line), ...failures.map((f) => `NOT MEASURED: ${f}`)];
  const passed = figures.filter((f) => met(f) === true).length;
  const targets = figures.filter((f) => f.target).length;
  out.push(`${passed} of ${targets} targets met${failures.length ? `, ${failures.length} section(s) not measured` : ''}`);
  return out;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
