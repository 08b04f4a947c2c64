const KEY = '"BulkDataURI"';
/** What follows the key up to the value's opening quote, and a start of it cut by the chunk's end. */
const TO_VALUE = /^\s*:\s*"/;
const CUT_BEFORE_VALUE = /^\s*(:\s*)?$/;
/** Longer BulkDataURI values are passed on as they are rather than held. */
const MAX_URI_CHARS = 4096;

/**
 * Rewrites the BulkDataURIs of a DICOM JSON stream (PS3.18 F.2.6) as it
 * passes, so that they name this edge: whatever precedes "/studies/" in a
 * value (the upstream's scheme, host and DICOMweb root, in whatever form it
 * writes them) becomes `base`. Only a value cut by a chunk boundary is held
 * back until its closing quote; the body is never held whole.
 */
export function rewriteBulkDataUris(base: string): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let carry = "";
  const rewrite = (text: string, final: boolean): string => {
    let out = "";
    let at = 0;
    for (;;) {
      const key = text.indexOf(KEY, at);
      if (key < 0) {
        // Keep what could be the start of the key cut by the chunk boundary.
        const keep = final ? 0 : partialKey(text);
        out += text.slice(at, text.length - keep);
        carry = text.slice(text.length - keep);
        return out;
      }
      const after = text.slice(key + KEY.length, key + KEY.length + 64);
      const toValue = TO_VALUE.exec(after);
      if (!toValue) {
        if (!final && CUT_BEFORE_VALUE.test(after)) {
          out += text.slice(at, key);
          carry = text.slice(key);
          return out;
        }
        out += text.slice(at, key + KEY.length);
        at = key + KEY.length;
        continue;
      }
      const start = key + KEY.length + toValue[0].length;
      const end = text.indexOf('"', start);
      if (end < 0 && !final && text.length - start <= MAX_URI_CHARS) {
        out += text.slice(at, key);
        carry = text.slice(key);
        return out;
      }
      const stop = end < 0 ? text.length : end;
      const uri = text.slice(start, stop);
      const studies = uri.indexOf("/studies/");
      out += text.slice(at, start) + (studies >= 0 ? `${base}${uri.slice(studies)}` : uri);
      at = stop;
    }
  };
  return new TransformStream({
    transform(chunk, controller) {
      const out = rewrite(carry + decoder.decode(chunk, { stream: true }), false);
      if (out) controller.enqueue(encoder.encode(out));
    },
    flush(controller) {
      const out = rewrite(carry + decoder.decode(), true);
      if (out) controller.enqueue(encoder.encode(out));
    },
  });
}

/** The length of the longest end of `text` that is a proper start of the key. */
function partialKey(text: string): number {
  for (let n = Math.min(KEY.length - 1, text.length); n > 0; n--) {
    if (KEY.startsWith(text.slice(text.length - n))) return n;
  }
  return 0;
}
