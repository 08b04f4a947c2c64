import { concat } from "@dicom-edge/shared/bytes";
import { Part10Reader } from "@dicom-edge/shared/dicom/part10-reader";

/**
 * A Part-10 object (one WADO-RS part) split where its File Meta Information
 * ends (PS3.10 7.1): what that group says, and the data set bytes after it,
 * untouched, streamed as they arrive. A C-STORE-RQ carries the data set
 * alone, in the syntax the group names (PS3.7 9.3.1.1).
 */
export interface SplitObject {
  /** Transfer Syntax UID (0002,0010). */
  transferSyntax: string;
  /** Media Storage SOP Class UID (0002,0002), if the group has it. */
  sopClass?: string;
  /** Where the data set starts in the object: preamble, "DICM" and the File Meta group before it. */
  datasetOffset: number;
  /** Those first `datasetOffset` bytes, for a copy of the whole object (a few hundred bytes). */
  head: Uint8Array;
  /** The data set's bytes to the object's end; an error of `body` passes through. */
  dataset: AsyncGenerator<Uint8Array, void, undefined>;
}

/** The reader sees at most this much of the data set: its elements are not ours to parse. */
const META_SLICE = 256;
/** The reader decides that the group ended with at most 2 bytes of the next element (PS3.10 7.1: the group changes); a margin over that. */
const HELD_BACK = 16;

/**
 * Reads `body` only until the File Meta group is parsed. Throws a
 * Part10Error for bytes that are not a Part-10 object, or that end before
 * its File Meta group does.
 */
export async function splitFileMeta(body: AsyncIterable<Uint8Array>): Promise<SplitObject> {
  const source = body[Symbol.asyncIterator]();
  const reader = new Part10Reader();
  // The last bytes before `chunk`: the data set may start a byte or two before the chunk that let the reader see it.
  let before: Uint8Array = new Uint8Array(0);
  let start = 0;
  // Everything read so far: the group is found within the first chunk or two.
  const seen: Uint8Array[] = [];
  for (;;) {
    const next = await source.next();
    if (next.done) {
      // A File Meta group and an empty data set (PS3.10 7.1 allows it): the end is where the reader knows.
      const header = reader.end();
      return { ...about(header.transferSyntaxUID, header.meta), datasetOffset: header.datasetOffset, head: concat(seen).slice(0, header.datasetOffset), dataset: rest([], source, false) };
    }
    const chunk = next.value;
    for (let at = 0; at < chunk.length; at += META_SLICE) {
      try {
        reader.write(chunk.subarray(at, at + META_SLICE));
      } catch (error) {
        // Past the group, whatever the reader makes of the data set does not matter here.
        if (reader.header.datasetOffset === undefined) throw error;
      }
      const { datasetOffset, transferSyntaxUID, meta } = reader.header;
      if (datasetOffset === undefined || transferSyntaxUID === undefined) continue;
      const lead = datasetOffset < start ? [before.subarray(before.length - (start - datasetOffset))] : [];
      const first = chunk.subarray(Math.max(0, datasetOffset - start));
      const head = concat([...seen, chunk]).slice(0, datasetOffset);
      return { ...about(transferSyntaxUID, meta ?? {}), datasetOffset, head, dataset: rest([...lead, first], source, true) };
    }
    before = joinTail(before, chunk, HELD_BACK);
    start += chunk.length;
    seen.push(chunk);
  }
}

function about(transferSyntax: string, meta: Record<string, { Value?: unknown[] }>): { transferSyntax: string; sopClass?: string } {
  const sopClass = meta["00020002"]?.Value?.[0];
  return typeof sopClass === "string" ? { transferSyntax, sopClass } : { transferSyntax };
}

async function* rest(first: Uint8Array[], source: AsyncIterator<Uint8Array>, more: boolean): AsyncGenerator<Uint8Array, void, undefined> {
  let finished = !more;
  try {
    for (const piece of first) if (piece.length > 0) yield piece;
    while (!finished) {
      const next = await source.next();
      if (next.done) finished = true;
      else yield next.value;
    }
  } finally {
    // Left early (the caller gave up): the source stops too.
    if (!finished) await source.return?.();
  }
}

function joinTail(tail: Uint8Array, chunk: Uint8Array, keep: number): Uint8Array {
  if (chunk.length >= keep) return chunk.slice(chunk.length - keep);
  const joined = new Uint8Array(Math.min(keep, tail.length + chunk.length));
  const fromTail = joined.length - chunk.length;
  joined.set(tail.subarray(tail.length - fromTail), 0);
  joined.set(chunk, fromTail);
  return joined;
}
