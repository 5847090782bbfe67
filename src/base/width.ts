// How many terminal cells text takes, and cutting it to fit: East Asian wide characters and emoji take two cells,
// combining marks and joiners none. Counted per grapheme (Intl.Segmenter), so an emoji sequence is not cut apart.

// Built at the first use, not when the module loads: --help, --version and a run off a terminal never measure text.
let segmenter: Intl.Segmenter | undefined;
const graphemes = (text: string): Intl.Segments => (segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' })).segment(text);
const ZERO = /^[\p{Mn}\p{Me}\p{Cf}\u200b\u200d\ufe00-\ufe0f]+$/u;
const EMOJI = /\p{Emoji_Presentation}|\ufe0f/u;

/** East Asian Wide and Fullwidth blocks (Hangul Jamo, CJK, kana, Hangul syllables, fullwidth forms, CJK extensions). */
function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

function graphemeWidth(g: string): number {
  if (ZERO.test(g)) return 0;
  if (EMOJI.test(g) || isWide(g.codePointAt(0) ?? 0)) return 2;
  return 1;
}

export function textWidth(text: string): number {
  let w = 0;
  for (const { segment } of graphemes(text)) w += graphemeWidth(segment);
  return w;
}

/** Cuts text to at most `width` cells, ending in '…' when something was cut. */
export function fitWidth(text: string, width: number): string {
  if (width <= 0) return '';
  if (textWidth(text) <= width) return text;
  let out = '';
  let used = 0;
  for (const { segment } of graphemes(text)) {
    const w = graphemeWidth(segment);
    if (used + w > width - 1) break;
    out += segment;
    used += w;
  }
  return `${out.trimEnd()}…`;
}

/** Cuts to `width` cells, then pads with spaces to exactly `width`. */
export function padWidth(text: string, width: number): string {
  const fitted = fitWidth(text, width);
  return fitted + ' '.repeat(Math.max(0, width - textWidth(fitted)));
}
