/**
 * The PS3.6 data dictionary: tag -> [VR, keyword].
 *
 * Multi-VR entries keep the first VR PS3.6 lists ("OB or OW" -> OB,
 * "US or SS" -> US), except Pixel Data, Overlay Data and Waveform Data,
 * which are OW because that is their VR in Implicit VR Little Endian
 * (PS3.5 A.1, 8.1.2, 8.3). Retired keywords carry no "RETIRED_" prefix.
 * The tables are generated (dictionary-data.ts, scripts/gen-dictionary.mjs).
 */
import { PLAIN, REPEATING } from "./dictionary-data.ts";

export interface DictionaryEntry {
  readonly vr: string;
  readonly keyword: string;
}

type Row = readonly [vr: string, keyword: string];

function parse(table: string): Map<number, Row> {
  const map = new Map<number, Row>();
  for (const line of table.split("\n")) {
    map.set(parseInt(line.slice(0, 8), 16), [line.slice(8, 10), line.slice(10)]);
  }
  return map;
}

/** Public tags keyed by `group << 16 | element` (unsigned). Parsing ~5k lines takes about a millisecond. */
export const DICTIONARY: ReadonlyMap<number, Row> = parse(PLAIN);

const REPEATING_TABLE: ReadonlyMap<number, Row> = parse(REPEATING);

let keywordMap: Map<string, number> | undefined;

/** VR and keyword of a public tag, including repeating groups (50xx, 60xx, 7Fxx). */
export function lookup(tag: number): DictionaryEntry | undefined {
  const row = DICTIONARY.get(tag >>> 0) ?? repeatingRow(tag >>> 0);
  return row && { vr: row[0], keyword: row[1] };
}

function repeatingRow(tag: number): Row | undefined {
  const group = tag >>> 16;
  // Odd groups are private (PS3.5 7.8), never a repeating public group.
  if (group & 1) return undefined;
  return REPEATING_TABLE.get(((group & 0xff00) << 16 | (tag & 0xffff)) >>> 0);
}

/** Tag of a PS3.6 keyword; repeating-group keywords give their xx00 group. */
export function keywordToTag(keyword: string): number | undefined {
  if (!keywordMap) {
    keywordMap = new Map();
    for (const table of [DICTIONARY, REPEATING_TABLE]) {
      for (const [tag, [, kw]] of table) keywordMap.set(kw, tag);
    }
  }
  return keywordMap.get(keyword);
}
