// Colour is decided once per stream, from --color, NO_COLOR, FORCE_COLOR, TERM and whether the stream is a TTY.
// chalk 5 ignores NO_COLOR by itself, so callers build a Chalk with the level decided here.

export type ColourMode = 'auto' | 'always' | 'never';
export type ColourLevel = 0 | 1 | 2 | 3;

export function decideColourLevel(mode: ColourMode, isTTY: boolean, env: Readonly<Record<string, string | undefined>>): ColourLevel {
  if (mode === 'never') return 0;
  const natural = terminalLevel(env);
  if (mode === 'always') return natural === 0 ? 1 : natural;
  // https://no-color.org: a non-empty NO_COLOR disables colour unless the user asked for it explicitly.
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    if (force === '0' || force === 'false') return 0;
    const n = Number(force);
    if (n === 1 || n === 2 || n === 3) return n;
    return natural === 0 ? 1 : natural;
  }
  if (!isTTY || env.TERM === 'dumb') return 0;
  return natural === 0 ? 1 : natural;
}

function terminalLevel(env: Readonly<Record<string, string | undefined>>): ColourLevel {
  if (env.COLORTERM === 'truecolor' || env.COLORTERM === '24bit') return 3;
  if (env.TERM && /-256(color)?$/i.test(env.TERM)) return 2;
  if (env.TERM === 'dumb') return 0;
  return 1;
}
