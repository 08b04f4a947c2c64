/**
 * Text decoding by Specific Character Set (0008,0005), PS3.3 C.12.1.1.2
 * and PS3.5 6.1.
 */

export type TextDecode = (bytes: Uint8Array) => string;

/** ISO 8859-1, decoded by hand: WHATWG's "latin1" label is windows-1252. */
export const decodeLatin1: TextDecode = (bytes) => {
  let out = "";
  for (let i = 0; i < bytes.length; i += 0x2000) {
    out += String.fromCharCode(...bytes.subarray(i, i + 0x2000));
  }
  return out;
};

const LATIN1 = "latin1";

// Defined Terms of PS3.3 Tables C.12-2 to C.12-5 mapped to WHATWG encoding
// labels. The ISO 2022 forms share the single-byte table of their base set.
const LABELS: Record<string, string> = {
  "": LATIN1,
  ISO_IR_6: LATIN1,
  ISO_IR_100: LATIN1,
  ISO_IR_101: "iso-8859-2",
  ISO_IR_109: "iso-8859-3",
  ISO_IR_110: "iso-8859-4",
  ISO_IR_144: "iso-8859-5",
  ISO_IR_127: "iso-8859-6",
  ISO_IR_126: "iso-8859-7",
  ISO_IR_138: "iso-8859-8",
  ISO_IR_148: "iso-8859-9",
  ISO_IR_203: "iso-8859-15",
  ISO_IR_13: "shift_jis",
  ISO_IR_166: "windows-874",
  ISO_IR_192: "utf-8",
  GB18030: "gb18030",
  GBK: "gbk",
  ISO_2022_IR_87: "iso-2022-jp",
  ISO_2022_IR_159: "iso-2022-jp",
  ISO_2022_IR_149: "euc-kr",
  ISO_2022_IR_58: "gbk",
};

function labelOf(term: string): string {
  const key = term.trim().replace(/[ _]+/g, "_");
  const iso2022 = /^ISO_2022_IR_(\d+)$/.exec(key);
  return LABELS[key] ?? (iso2022 ? LABELS[`ISO_IR_${iso2022[1]}`] : undefined) ?? LATIN1;
}

function decoderFor(label: string): TextDecode {
  if (label === LATIN1) return decodeLatin1;
  try {
    const decoder = new TextDecoder(label);
    return (bytes) => decoder.decode(bytes);
  } catch {
    // Runtimes without full ICU (or workerd) may lack legacy encodings.
    return decodeLatin1;
  }
}

// ISO 2022 designation escapes: ESC, intermediates 0x20-0x2F, a final byte
// (PS3.5 6.1.2.5.3). Decoders other than iso-2022-jp do not understand them.
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b[\x20-\x2f]+[\x30-\x7e]/g;

/**
 * The decoder for a Specific Character Set value (one term per value).
 * With code extensions, iso-2022-jp decodes its own escapes; otherwise the
 * last non-default term's table is used and escapes are removed, which is
 * exact for the common "\ISO 2022 IR 149" and "\ISO 2022 IR 58" forms.
 */
export function charsetDecoder(terms: readonly (string | null)[]): TextDecode {
  const labels = terms.map((t) => labelOf(t ?? ""));
  if (labels.includes("iso-2022-jp")) return decoderFor("iso-2022-jp");
  const label = labels.filter((l) => l !== LATIN1).at(-1) ?? labels.at(-1) ?? LATIN1;
  const decode = decoderFor(label);
  if (terms.length <= 1) return decode;
  return (bytes) => decode(bytes).replace(ESCAPES, "");
}
