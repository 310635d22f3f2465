import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as fontkit from 'fontkit';

/**
 * The faces an invoice is printed with, embedded (subset) in every PDF. They come from npm packages in
 * package.json, so `npm ci` brings them on any machine; the system's fonts are never read.
 * DejaVu Sans covers Latin, Greek, Cyrillic, Hebrew and Arabic but no CJK; Noto Sans JP covers kana,
 * the kanji, and the Latin and Greek that Japanese text mixes in. A text takes the first face that
 * has every one of its characters.
 */
export type Weight = 'regular' | 'bold';

interface FaceSource {
  readonly name: string;
  readonly file: string;
}

const SOURCES: Readonly<Record<Weight, readonly FaceSource[]>> = Object.freeze({
  regular: [
    { name: 'DejaVuSans', file: 'dejavu-fonts-ttf/ttf/DejaVuSans.ttf' },
    { name: 'NotoSansJP', file: '@expo-google-fonts/noto-sans-jp/400Regular/NotoSansJP_400Regular.ttf' },
  ],
  bold: [
    { name: 'DejaVuSans-Bold', file: 'dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf' },
    { name: 'NotoSansJP-Bold', file: '@expo-google-fonts/noto-sans-jp/700Bold/NotoSansJP_700Bold.ttf' },
  ],
});

export interface Face {
  /** The name the PDF document registers the face under. */
  readonly name: string;
  readonly data: Buffer;
  /** Baseline below the top of a line, in ems: Noto Sans JP's is deeper than DejaVu's. */
  readonly ascent: number;
  covers(codePoint: number): boolean;
}

const require = createRequire(import.meta.url);
const loaded = new Map<string, Face>();

/** Read on first use and kept: the Japanese faces (5 MB each) only once a text needs them. */
function load(source: FaceSource): Face {
  const cached = loaded.get(source.name);
  if (cached !== undefined) return cached;
  const data = readFileSync(require.resolve(source.file));
  const font = fontkit.create(data);
  if (!('hasGlyphForCodePoint' in font)) throw new Error(`${source.file} is a font collection, not one face`);
  const face: Face = {
    name: source.name,
    data,
    ascent: font.ascent / font.unitsPerEm,
    covers: (cp) => font.hasGlyphForCodePoint(cp),
  };
  loaded.set(source.name, face);
  return face;
}

/** Spaces and controls are drawn the same in any face: they do not decide which face a text needs. */
const neutral = (cp: number) => cp <= 0x20 || (cp >= 0x7f && cp <= 0xa0) || (cp >= 0x2000 && cp <= 0x200f);

/**
 * The face to print `text` in: the first of the weight's faces that has all of its characters, else
 * the one that has the most (what none of them has shows as an empty box, but stays in the text layer).
 */
export function faceFor(text: string, weight: Weight): Face {
  const codePoints = [...new Set(Array.from(text, (c) => c.codePointAt(0) ?? 0))].filter((cp) => !neutral(cp));
  let best: { face: Face; missing: number } | undefined;
  for (const source of SOURCES[weight]) {
    const face = load(source);
    const missing = codePoints.filter((cp) => !face.covers(cp)).length;
    if (missing === 0) return face;
    if (best === undefined || missing < best.missing) best = { face, missing };
  }
  if (best === undefined) throw new Error(`no face for weight ${weight}`);
  return best.face;
}
