/**
 * Where each frame of a multi-frame image lies in the Part-10 bytes, from
 * the header alone (PS3.5 8.2 native, A.4 encapsulated).
 */
import { numberValue, stringValue } from "./json.ts";
import { Part10Error, type ByteRange, type Part10Header, type PixelDataInfo } from "./part10-reader.ts";

const ROWS = "00280010";
const COLUMNS = "00280011";
const SAMPLES_PER_PIXEL = "00280002";
const BITS_ALLOCATED = "00280100";
const PHOTOMETRIC_INTERPRETATION = "00280004";

/**
 * One list of byte ranges per frame, in frame order. Native frames are one
 * range each; an encapsulated frame is the data of one or more fragments.
 * Throws Part10Error("malformed") when frames cannot be delimited.
 */
export function frameRanges(header: Part10Header, numberOfFrames: number): ByteRange[][] {
  const pixelData = header.pixelData;
  if (!pixelData) throw malformed("the instance has no Pixel Data");
  if (!Number.isInteger(numberOfFrames) || numberOfFrames < 1) throw malformed(`invalid number of frames ${numberOfFrames}`);
  return pixelData.encapsulated
    ? encapsulatedFrames(header, pixelData, numberOfFrames)
    : nativeFrames(header, pixelData, numberOfFrames);
}

function nativeFrames(header: Part10Header, pixelData: PixelDataInfo, frames: number): ByteRange[][] {
  const ds = header.dataset;
  const rows = numberValue(ds, ROWS);
  const columns = numberValue(ds, COLUMNS);
  const samples = numberValue(ds, SAMPLES_PER_PIXEL) ?? 1;
  const bitsAllocated = numberValue(ds, BITS_ALLOCATED);
  if (!rows || !columns || !bitsAllocated) throw malformed("Rows, Columns or Bits Allocated missing");
  // PS3.5 8.1.1: with Bits Allocated 1 frames are packed bit by bit and may
  // start inside a byte, so work in bits and widen each frame to whole bytes.
  // PS3.3 C.7.6.3.1.2: native YBR_FULL_422 stores two samples per pixel
  // (chroma shared by each pair of pixels), not Samples per Pixel (3).
  const stored = stringValue(ds, PHOTOMETRIC_INTERPRETATION) === "YBR_FULL_422" ? 2 : samples;
  const frameBits = rows * columns * stored * bitsAllocated;
  const out: ByteRange[][] = [];
  for (let i = 0; i < frames; i++) {
    const first = Math.floor((i * frameBits) / 8);
    const end = Math.ceil(((i + 1) * frameBits) / 8);
    if (end > pixelData.valueLength) {
      throw malformed(`frame ${i + 1} ends at byte ${end} of Pixel Data, which has ${pixelData.valueLength}`);
    }
    out.push([{ offset: pixelData.valueOffset + first, length: end - first }]);
  }
  return out;
}

function encapsulatedFrames(header: Part10Header, pixelData: PixelDataInfo, frames: number): ByteRange[][] {
  const { fragments, basicOffsetTable } = pixelData;
  if (fragments.length === 0) throw malformed("encapsulated Pixel Data has no fragments");
  const eot = header.extendedOffsetTable;
  if (eot) return extendedOffsetTableFrames(fragments, eot, frames);
  if (basicOffsetTable.length > 0) return groupByOffsets(fragments, basicOffsetTable, frames, "Basic Offset Table");
  if (fragments.length === frames) return fragments.map((f) => [f]);
  if (frames === 1) return [fragments.slice()];
  const starts = pixelData.codestreamStarts ?? [];
  if (fragments.length > frames && starts.length === frames && starts[0] === 0) {
    return starts.map((start, i) => fragments.slice(start, starts[i + 1] ?? fragments.length));
  }
  throw malformed(`cannot split ${fragments.length} fragments into ${frames} frames without an offset table`);
}

/**
 * Offsets of each fragment's Item tag relative to the first fragment's Item
 * tag, the origin of both offset tables (PS3.5 A.4, PS3.3 C.7.6.3.1.8).
 */
function itemOffsets(fragments: ByteRange[]): number[] {
  const origin = fragments[0]!.offset;
  return fragments.map((f) => f.offset - origin);
}

function groupByOffsets(fragments: ByteRange[], offsets: number[], frames: number, table: string): ByteRange[][] {
  if (offsets.length !== frames) throw malformed(`${table} has ${offsets.length} entries for ${frames} frames`);
  const index = new Map(itemOffsets(fragments).map((offset, i) => [offset, i]));
  const starts = offsets.map((offset) => {
    const i = index.get(offset);
    if (i === undefined) throw malformed(`${table} offset ${offset} is not the start of a fragment`);
    return i;
  });
  return starts.map((start, k) => {
    const end = starts[k + 1] ?? fragments.length;
    if (end <= start) throw malformed(`${table} offsets are not increasing`);
    return fragments.slice(start, end);
  });
}

/**
 * PS3.3 C.7.6.3.1.8: with an Extended Offset Table each frame is one
 * fragment; the lengths give the frame's bytes without the fragment's
 * trailing padding.
 */
function extendedOffsetTableFrames(
  fragments: ByteRange[],
  eot: { offsets: number[]; lengths: number[] },
  frames: number,
): ByteRange[][] {
  if (eot.lengths.length !== eot.offsets.length) throw malformed("Extended Offset Table and its lengths differ in size");
  const grouped = groupByOffsets(fragments, eot.offsets, frames, "Extended Offset Table");
  return grouped.map((group, k) => {
    const first = group[0]!;
    const length = eot.lengths[k]!;
    if (group.length !== 1 || length > first.length) {
      // Several fragments per frame: the lengths cannot be applied to one range.
      if (length > group.reduce((n, f) => n + f.length, 0)) throw malformed(`frame ${k + 1} is longer than its fragments`);
      return group;
    }
    return [{ offset: first.offset, length }];
  });
}

function malformed(message: string): Part10Error {
  return new Part10Error("malformed", message);
}
