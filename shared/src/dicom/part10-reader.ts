/**
 * An incremental, push-based reader of DICOM Part-10 files (PS3.10 7.1)
 * that indexes the header and records where bulk values lie, without ever
 * holding a bulk value in memory.
 *
 * Feed it chunks split anywhere with `write`, then call `end`. Values over
 * the inline limits are skipped as they stream past and reported as
 * absolute byte ranges, so a 1 GB Pixel Data costs nothing.
 */
import { Inflate } from "fflate";
import { ByteQueue } from "./byte-queue.ts";
import { charsetDecoder, decodeLatin1, type TextDecode } from "./charset.ts";
import { lookup } from "./dictionary.ts";
import { tagKey, type DicomJson, type DicomJsonAttribute } from "./json.ts";
import { BINARY_VRS, toJsonAttribute } from "./json-value.ts";
import { transferSyntax } from "./transfer-syntax.ts";

export type { DicomJson, DicomJsonAttribute } from "./json.ts";

export interface ByteRange {
  offset: number;
  length: number;
}

export interface PixelDataInfo {
  /** 0x7FE00010, or Float / Double Float Pixel Data 0x7FE00008 / 0x7FE00009. */
  tag: number;
  vr: string;
  /** Absolute offset of the value (of the first Item tag when encapsulated). */
  valueOffset: number;
  /** Bytes of the value, items and Sequence Delimitation Item included when encapsulated. */
  valueLength: number;
  encapsulated: boolean;
  /** Encapsulated: absolute ranges of each fragment's data after the Basic Offset Table item. Native: []. */
  fragments: ByteRange[];
  /** Encapsulated: Basic Offset Table entries (may be empty). */
  basicOffsetTable: number[];
  /**
   * Encapsulated: indices into `fragments` of the fragments whose data opens
   * with a JPEG SOI, JPEG 2000 SOC or JP2 signature: where a frame may begin
   * when neither offset table delimits frames (PS3.5 A.4).
   */
  codestreamStarts?: number[];
}

export interface Part10Header {
  /** Offset of the first dataset element, after the File Meta group. */
  datasetOffset: number;
  /** From (0002,0010). */
  transferSyntaxUID: string;
  /** Group 0002. */
  meta: DicomJson;
  /**
   * The dataset in the DICOM JSON model (PS3.18 F.2); bulk values are
   * `{"vr", "BulkDataURI": "bulkdata/<path>"}`, relative to the instance.
   */
  dataset: DicomJson;
  /** `<path>` -> absolute range of the value (in inflated space when deflated). */
  bulkData: Record<string, ByteRange>;
  pixelData?: PixelDataInfo;
  /** (7FE0,0001) / (7FE0,0002) when both are present. */
  extendedOffsetTable?: { offsets: number[]; lengths: number[] };
  deflated: boolean;
  /** Bytes consumed: the stored file size. */
  length: number;
}

export type Part10ErrorCode = "not-dicom" | "truncated" | "malformed" | "header-too-large";

export class Part10Error extends Error {
  readonly code: Part10ErrorCode;

  constructor(code: Part10ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "Part10Error";
    this.code = code;
  }
}

export interface Part10ReaderOptions {
  /** Binary values (OB OD OF OL OV OW UN) up to this many bytes are InlineBinary; default 1024. */
  inlineBinaryMax?: number;
  /** Any value bigger than this becomes bulk data; default 1 MiB. */
  maxElementBytes?: number;
  /** Cap on buffered non-bulk header bytes; default 64 MiB. */
  maxHeaderBytes?: number;
  /**
   * Read a bare dataset (no preamble, no File Meta) in this transfer syntax,
   * as DIMSE carries it (PS3.7 6.3.1, PS3.8 E.2); `datasetOffset` is then 0
   * and `meta` empty.
   */
  datasetOnly?: { transferSyntaxUID: string };
}

interface Syntax {
  explicitVR: boolean;
  littleEndian: boolean;
}

const EXPLICIT_LE: Syntax = { explicitVR: true, littleEndian: true };
const IMPLICIT_LE: Syntax = { explicitVR: false, littleEndian: true };

const PREAMBLE_LENGTH = 128; // PS3.10 7.1
const MAGIC = [0x44, 0x49, 0x43, 0x4d]; // "DICM"
const UNDEFINED_LENGTH = 0xffffffff;

// PS3.5 7.5: item and delimitation tags.
const ITEM = 0xfffee000;
const ITEM_DELIMITATION = 0xfffee00d;
const SEQUENCE_DELIMITATION = 0xfffee0dd;

const FILE_META_GROUP_LENGTH = 0x00020000;
const TRANSFER_SYNTAX_UID = 0x00020010;
const SPECIFIC_CHARACTER_SET = 0x00080005;
const EXTENDED_OFFSET_TABLE = 0x7fe00001;
const EXTENDED_OFFSET_TABLE_LENGTHS = 0x7fe00002;
const FLOAT_PIXEL_DATA = 0x7fe00008;
const DOUBLE_FLOAT_PIXEL_DATA = 0x7fe00009;
const PIXEL_DATA = 0x7fe00010;

// PS3.5 7.1.2, Table 7.1-2: VRs with a 16-bit length in Explicit VR. Every
// other VR, including ones defined later, has 2 reserved bytes and a 32-bit
// length.
const SHORT_LENGTH_VRS = new Set([
  "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "PN", "SH", "SL", "SS", "ST", "TM", "UI", "UL", "US",
]);

// Inflate input is fed in slices so one write of a deflate bomb cannot expand
// into more than ~1032x this much output before the parser consumes it.
const INFLATE_SLICE = 16 * 1024;

// Bookkeeping charged to maxHeaderBytes so that many tiny elements, items or
// fragments cannot grow memory without bound either.
const ELEMENT_OVERHEAD = 32;
const FRAME_OVERHEAD = 64;
const FRAGMENT_OVERHEAD = 16;

interface DatasetFrame {
  kind: "dataset";
  json: DicomJson;
  /** Absolute end of a defined-length item; undefined until an Item Delimitation (or EOF at top level). */
  end: number | undefined;
  /** Bulk path prefix of the children: "" or "00540016/0/". */
  prefix: string;
  syntax: Syntax;
  decode: TextDecode;
  top: boolean;
}

interface SequenceFrame {
  kind: "sequence";
  attribute: DicomJsonAttribute;
  end: number | undefined;
  path: string;
  syntax: Syntax;
  decode: TextDecode;
}

interface FragmentsFrame {
  kind: "fragments";
  info: PixelDataInfo;
  path: string;
  syntax: Syntax;
  sawOffsetTable: boolean;
  end: undefined;
}

type Frame = DatasetFrame | SequenceFrame | FragmentsFrame;

type Pending =
  | { kind: "value"; frame: DatasetFrame; tag: number; vr: string; length: number; bulk: boolean }
  | { kind: "offset-table"; frame: FragmentsFrame; length: number }
  | { kind: "fragment"; frame: FragmentsFrame; length: number };

type Phase = "preamble" | "meta" | "dataset";

export class Part10Reader {
  private readonly inlineBinaryMax: number;
  private readonly maxElementBytes: number;
  private readonly maxHeaderBytes: number;

  private readonly queue = new ByteQueue();
  /** Offset of the queue's first byte in the (inflated) Part-10 stream. */
  private position = 0;
  private consumed = 0;
  private phase: Phase = "preamble";
  private stack: Frame[] = [];
  private pending: Pending | undefined;
  private skipRemaining = 0;
  private headerBytes = 0;
  private inflater: Inflate | undefined;
  private metaGroupEnd: number | undefined;
  private failure: Part10Error | undefined;
  private result: Part10Header | undefined;
  private complete = false;

  private readonly meta: DicomJson = {};
  private readonly dataset: DicomJson = {};
  private readonly bulkData: Record<string, ByteRange> = {};
  private datasetOffset: number | undefined;
  private transferSyntaxUID: string | undefined;
  private deflated = false;
  private pixelData: PixelDataInfo | undefined;
  private eotOffsets: number[] | undefined;
  private eotLengths: number[] | undefined;

  constructor(options: Part10ReaderOptions = {}) {
    this.inlineBinaryMax = options.inlineBinaryMax ?? 1024;
    this.maxElementBytes = options.maxElementBytes ?? 1024 * 1024;
    this.maxHeaderBytes = options.maxHeaderBytes ?? 64 * 1024 * 1024;
    if (options.datasetOnly) this.startDataset(options.datasetOnly.transferSyntaxUID);
  }

  /** True once every element before Pixel Data has been read. */
  get headerComplete(): boolean {
    return this.complete;
  }

  /** What is known so far; `dataset` fills in as elements arrive. */
  get header(): Partial<Part10Header> {
    return this.result ?? this.snapshot();
  }

  write(chunk: Uint8Array): void {
    this.assertOpen();
    try {
      this.consumed += chunk.length;
      let raw: Uint8Array[] = [chunk];
      if (!this.inflater) {
        this.queue.push(chunk, true);
        this.pump();
        if (!this.inflater) {
          this.queue.settle();
          return;
        }
        // The File Meta just ended and the rest of this chunk is deflated.
        raw = this.queue.drain();
      }
      for (const piece of raw) this.inflate(piece, false);
    } catch (error) {
      throw this.fail(error);
    }
  }

  end(): Part10Header {
    if (this.result) return this.result;
    this.assertOpen();
    try {
      if (this.inflater) this.inflate(new Uint8Array(0), true);
      this.finish();
    } catch (error) {
      throw this.fail(error);
    }
    this.complete = true;
    this.result = this.snapshot() as Part10Header;
    return this.result;
  }

  private assertOpen(): void {
    if (this.failure) throw this.failure;
    if (this.result) throw new Error("Part10Reader: write after end");
  }

  private fail(error: unknown): unknown {
    if (error instanceof Part10Error) this.failure = error;
    return error;
  }

  private snapshot(): Partial<Part10Header> {
    const header: Partial<Part10Header> = {
      meta: this.meta,
      dataset: this.dataset,
      bulkData: this.bulkData,
      deflated: this.deflated,
      length: this.consumed,
    };
    if (this.datasetOffset !== undefined) header.datasetOffset = this.datasetOffset;
    if (this.transferSyntaxUID !== undefined) header.transferSyntaxUID = this.transferSyntaxUID;
    if (this.pixelData) header.pixelData = this.pixelData;
    if (this.eotOffsets && this.eotLengths) {
      header.extendedOffsetTable = { offsets: this.eotOffsets, lengths: this.eotLengths };
    }
    return header;
  }

  /** Checks the stream stopped between top-level elements (PS3.10 7.1). */
  private finish(): void {
    if (this.consumed === 0) throw new Part10Error("not-dicom", "empty stream");
    if (this.phase === "preamble") throw new Part10Error("truncated", "stream ends inside the preamble");
    if (this.pending || this.skipRemaining > 0 || this.queue.length > 0) {
      throw new Part10Error("truncated", `stream ends inside an element at offset ${this.position}`);
    }
    if (this.phase === "meta" && this.stack.length === 1) {
      if (!this.meta[tagKey(TRANSFER_SYNTAX_UID)]) throw new Part10Error("truncated", "stream ends inside the File Meta");
      // A file may hold File Meta and an empty dataset.
      this.endMeta();
    }
    if (this.stack.length > 1) {
      const open = this.stack.at(-1)!;
      throw new Part10Error("truncated", `stream ends inside ${open.kind === "dataset" ? "an item" : `sequence ${open.path}`}`);
    }
  }

  /** Feeds raw deflate bytes through the inflater, parsing after each slice. */
  private inflate(raw: Uint8Array, final: boolean): void {
    const inflater = this.inflater!;
    let offset = 0;
    do {
      const slice = raw.subarray(offset, offset + INFLATE_SLICE);
      offset += slice.length;
      try {
        inflater.push(slice, final && offset >= raw.length);
      } catch (error) {
        // fflate code 0 is "unexpected EOF"; the others are corrupt data.
        const code = (error as { code?: number }).code;
        throw new Part10Error(code === 0 ? "truncated" : "malformed", "deflated dataset cannot be inflated", {
          cause: error,
        });
      }
      this.pump();
    } while (offset < raw.length);
  }

  /** Parses as far as the queued bytes allow. */
  private pump(): void {
    for (;;) {
      if (this.skipRemaining > 0) {
        const dropped = this.queue.discard(this.skipRemaining);
        this.position += dropped;
        this.skipRemaining -= dropped;
        if (this.skipRemaining > 0) return;
      } else if (this.pending) {
        if (!this.completePending(this.pending)) return;
      } else if (!this.step()) {
        return;
      }
      this.closeFrames();
    }
  }

  private step(): boolean {
    if (this.phase === "preamble") return this.readPreamble();
    const frame = this.stack.at(-1)!;
    switch (frame.kind) {
      case "dataset":
        return this.readElement(frame);
      case "sequence":
        return this.readItem(frame);
      case "fragments":
        return this.readFragment(frame);
      default:
        return assertNever(frame);
    }
  }

  private readPreamble(): boolean {
    const available = Math.min(this.queue.length, PREAMBLE_LENGTH + MAGIC.length);
    // Reject as soon as any byte of "DICM" is known to be wrong.
    if (available > PREAMBLE_LENGTH) {
      const bytes = this.queue.peek(available);
      for (let i = PREAMBLE_LENGTH; i < available; i++) {
        if (bytes[i] !== MAGIC[i - PREAMBLE_LENGTH]) {
          throw new Part10Error("not-dicom", 'no "DICM" prefix after the 128-byte preamble (PS3.10 7.1)');
        }
      }
    }
    if (available < PREAMBLE_LENGTH + MAGIC.length) return false;
    this.queue.discard(available);
    this.position = available;
    this.phase = "meta";
    // PS3.10 7.1: File Meta is always Explicit VR Little Endian.
    this.stack = [this.datasetFrame(this.meta, EXPLICIT_LE)];
    return true;
  }

  private datasetFrame(json: DicomJson, syntax: Syntax): DatasetFrame {
    return { kind: "dataset", json, end: undefined, prefix: "", syntax, decode: decodeLatin1, top: true };
  }

  /** Has the File Meta group ended before the element at `position`? */
  private metaEnded(): boolean | undefined {
    // With a deflated dataset the next bytes are compressed and could look
    // like group 0002, so trust a present group length there.
    if (this.metaGroupEnd !== undefined && this.position >= this.metaGroupEnd && this.metaSyntaxDeflated()) return true;
    if (this.queue.length < 2) return undefined;
    // PS3.10 7.1: (0002,0000) may be wrong or absent; the group ends where the tag group changes.
    const group = this.queue.peek(2);
    return (group[0]! | (group[1]! << 8)) !== 0x0002;
  }

  private metaSyntaxDeflated(): boolean {
    const uid = this.meta[tagKey(TRANSFER_SYNTAX_UID)]?.Value?.[0];
    return typeof uid === "string" && transferSyntax(uid)?.deflated === true;
  }

  private endMeta(): void {
    const uid = this.meta[tagKey(TRANSFER_SYNTAX_UID)]?.Value?.[0];
    if (typeof uid !== "string") throw new Part10Error("malformed", "File Meta has no Transfer Syntax UID (0002,0010)");
    this.startDataset(uid);
  }

  /** The dataset begins at `position`, encoded in `uid`. */
  private startDataset(uid: string): void {
    const ts = transferSyntax(uid);
    this.transferSyntaxUID = uid;
    this.datasetOffset = this.position;
    this.phase = "dataset";
    // An unknown (private) syntax is read as Explicit VR Little Endian, the
    // encoding every non-retired standard syntax but the default one uses.
    this.stack = [this.datasetFrame(this.dataset, ts ? ts : EXPLICIT_LE)];
    if (ts?.deflated) {
      this.deflated = true;
      // PS3.5 A.5: the dataset is a raw deflate stream (RFC 1951, no zlib header).
      this.inflater = new Inflate((data) => this.queue.push(data, false));
    }
  }

  private readElement(frame: DatasetFrame): boolean {
    if (this.phase === "meta" && this.stack.length === 1) {
      const ended = this.metaEnded();
      if (ended === undefined) return false;
      if (ended) {
        this.endMeta();
        // Deflated: stop so `write` can route the remaining bytes through the inflater.
        return !this.inflater;
      }
    }
    const { explicitVR, littleEndian: le } = frame.syntax;
    if (this.queue.length < 8) return false;
    let head = this.queue.peek(8);
    const tag = readTag(head, le);
    if (tag >>> 16 === 0xfffe) {
      this.consumeHeader(8);
      this.datasetDelimiter(frame, tag);
      return true;
    }
    let vr: string;
    let length: number;
    let headerLength = 8;
    if (explicitVR) {
      vr = String.fromCharCode(head[4]!, head[5]!);
      if (!/^[A-Z]{2}$/.test(vr) && frame.top && this.phase === "dataset" && this.position === this.datasetOffset) {
        // Some writers label an Implicit VR dataset with an explicit syntax;
        // like common toolkits, trust the first element's bytes over the label.
        frame.syntax = { explicitVR: false, littleEndian: le };
        return true;
      }
      if (!/^[A-Z]{2}$/.test(vr)) {
        throw new Part10Error("malformed", `invalid VR at offset ${this.position + 4} for (${tagKey(tag)})`);
      }
      if (SHORT_LENGTH_VRS.has(vr)) {
        length = readUint16(head, 6, le);
      } else {
        if (this.queue.length < 12) return false;
        head = this.queue.peek(12);
        length = readUint32(head, 8, le);
        headerLength = 12;
      }
    } else {
      length = readUint32(head, 4, le);
      vr = implicitVR(tag);
    }
    this.consumeHeader(headerLength);
    this.element(frame, tag, vr, length);
    return true;
  }

  private consumeHeader(n: number): void {
    this.queue.discard(n);
    this.position += n;
  }

  private datasetDelimiter(frame: DatasetFrame, tag: number): void {
    // PS3.5 7.5.2: an Item Delimitation Item closes an undefined-length item.
    if (tag === ITEM_DELIMITATION && !frame.top && frame.end === undefined) {
      this.stack.pop();
      return;
    }
    throw new Part10Error("malformed", `unexpected (${tagKey(tag)}) at offset ${this.position - 8}`);
  }

  private element(frame: DatasetFrame, tag: number, vr: string, length: number): void {
    const key = tagKey(tag);
    const path = frame.prefix + key;
    if (frame.top && this.phase === "dataset" && tag >= FLOAT_PIXEL_DATA) this.complete = true;
    this.charge(ELEMENT_OVERHEAD);
    if (frame.end !== undefined && length !== UNDEFINED_LENGTH && this.position + length > frame.end) {
      throw new Part10Error("malformed", `(${key}) overruns its item at offset ${this.position}`);
    }
    const pixel = tag === PIXEL_DATA || tag === FLOAT_PIXEL_DATA || tag === DOUBLE_FLOAT_PIXEL_DATA;

    if (length === UNDEFINED_LENGTH) {
      if (pixel) return this.startFragments(frame, tag, vr, path);
      // PS3.5 6.2.2: UN of undefined length is a sequence in Implicit VR Little Endian.
      if (vr === "UN") return this.startSequence(frame, key, path, IMPLICIT_LE, undefined);
      if (vr === "SQ" || !frame.syntax.explicitVR) return this.startSequence(frame, key, path, frame.syntax, undefined);
      throw new Part10Error("malformed", `(${key}) ${vr} has undefined length`);
    }
    // PS3.5 7.2: group lengths are not part of the JSON model (PS3.18 F.2),
    // but (0002,0000) may mark the end of the File Meta.
    if ((tag & 0xffff) === 0) {
      if (tag === FILE_META_GROUP_LENGTH && length === 4) {
        this.pending = { kind: "value", frame, tag, vr, length, bulk: false };
      } else {
        this.skipRemaining = length;
      }
      return;
    }
    if (vr === "SQ") return this.startSequence(frame, key, path, frame.syntax, this.position + length);

    const bulk = pixel || length > this.maxElementBytes || (BINARY_VRS.has(vr) && length > this.inlineBinaryMax);
    const offsetTable = frame.top && (tag === EXTENDED_OFFSET_TABLE || tag === EXTENDED_OFFSET_TABLE_LENGTHS);
    if (bulk && !(offsetTable && length <= this.maxElementBytes)) {
      this.recordBulk(frame, key, path, vr, { offset: this.position, length });
      if (pixel && frame.top) {
        this.pixelData = {
          tag, vr, valueOffset: this.position, valueLength: length, encapsulated: false, fragments: [], basicOffsetTable: [],
        };
      }
      this.skipRemaining = length;
      return;
    }
    this.charge(length);
    this.pending = { kind: "value", frame, tag, vr, length, bulk };
  }

  private recordBulk(frame: DatasetFrame, key: string, path: string, vr: string, range: ByteRange): void {
    this.charge(path.length + ELEMENT_OVERHEAD);
    this.bulkData[path] = range;
    frame.json[key] = { vr, BulkDataURI: `bulkdata/${path}` };
  }

  private startSequence(frame: DatasetFrame, key: string, path: string, syntax: Syntax, end: number | undefined): void {
    const attribute: DicomJsonAttribute = { vr: "SQ" };
    frame.json[key] = attribute;
    this.charge(FRAME_OVERHEAD);
    this.stack.push({ kind: "sequence", attribute, end, path, syntax, decode: frame.decode });
  }

  private startFragments(frame: DatasetFrame, tag: number, vr: string, path: string): void {
    const info: PixelDataInfo = {
      tag,
      vr,
      valueOffset: this.position,
      valueLength: 0,
      encapsulated: true,
      fragments: [],
      basicOffsetTable: [],
      codestreamStarts: [],
    };
    frame.json[tagKey(tag)] = { vr, BulkDataURI: `bulkdata/${path}` };
    if (frame.top) this.pixelData = info;
    this.charge(FRAME_OVERHEAD);
    this.stack.push({ kind: "fragments", info, path, syntax: frame.syntax, sawOffsetTable: false, end: undefined });
  }

  private readItem(frame: SequenceFrame): boolean {
    if (this.queue.length < 8) return false;
    const head = this.queue.peek(8);
    const tag = readTag(head, frame.syntax.littleEndian);
    const length = readUint32(head, 4, frame.syntax.littleEndian);
    if (tag === ITEM) {
      this.consumeHeader(8);
      const end = length === UNDEFINED_LENGTH ? undefined : this.position + length;
      if (end !== undefined && frame.end !== undefined && end > frame.end) {
        throw new Part10Error("malformed", `item overruns sequence ${frame.path} at offset ${this.position}`);
      }
      const item: DicomJson = {};
      const index = (frame.attribute.Value ??= []).push(item) - 1;
      this.charge(FRAME_OVERHEAD);
      this.stack.push({
        kind: "dataset",
        json: item,
        end,
        prefix: `${frame.path}/${index}/`,
        syntax: frame.syntax,
        // PS3.5 7.5.3: items inherit the Specific Character Set unless they set their own.
        decode: frame.decode,
        top: false,
      });
      return true;
    }
    if (tag === SEQUENCE_DELIMITATION && frame.end === undefined) {
      this.consumeHeader(8);
      this.stack.pop();
      return true;
    }
    throw new Part10Error("malformed", `expected an Item in sequence ${frame.path}, found (${tagKey(tag)}) at offset ${this.position}`);
  }

  /** PS3.5 A.4: Basic Offset Table item, fragment items, Sequence Delimitation Item. */
  private readFragment(frame: FragmentsFrame): boolean {
    if (this.queue.length < 8) return false;
    const head = this.queue.peek(8);
    const tag = readTag(head, frame.syntax.littleEndian);
    const length = readUint32(head, 4, frame.syntax.littleEndian);
    if (tag === ITEM && length !== UNDEFINED_LENGTH) {
      this.consumeHeader(8);
      if (!frame.sawOffsetTable) {
        frame.sawOffsetTable = true;
        if (length > this.maxElementBytes) {
          throw new Part10Error("header-too-large", `Basic Offset Table of ${length} bytes exceeds maxElementBytes`);
        }
        this.charge(length);
        this.pending = { kind: "offset-table", frame, length };
      } else {
        this.charge(FRAGMENT_OVERHEAD);
        frame.info.fragments.push({ offset: this.position, length });
        this.pending = { kind: "fragment", frame, length };
      }
      return true;
    }
    if (tag === SEQUENCE_DELIMITATION) {
      this.consumeHeader(8);
      const { info } = frame;
      info.valueLength = this.position - info.valueOffset;
      this.bulkData[frame.path] = { offset: info.valueOffset, length: info.valueLength };
      this.stack.pop();
      return true;
    }
    throw new Part10Error("malformed", `expected a fragment Item in (${frame.path}), found (${tagKey(tag)}) at offset ${this.position}`);
  }

  /** Finishes the pending value once its bytes are queued; false when more are needed. */
  private completePending(pending: Pending): boolean {
    if (pending.kind === "fragment") {
      // Look at the first bytes only, then skip the fragment unbuffered.
      const need = Math.min(4, pending.length);
      if (this.queue.length < need) return false;
      const { info } = pending.frame;
      if (startsCodestream(this.queue.peek(need))) info.codestreamStarts?.push(info.fragments.length - 1);
      this.pending = undefined;
      this.skipRemaining = pending.length;
      return true;
    }
    if (this.queue.length < pending.length) return false;
    this.pending = undefined;
    const bytes = this.queue.take(pending.length);
    const offset = this.position;
    this.position += pending.length;
    if (pending.kind === "offset-table") {
      pending.frame.info.basicOffsetTable = readUint32s(bytes, pending.frame.syntax.littleEndian);
      return true;
    }
    this.value(pending, bytes, offset);
    return true;
  }

  private value(pending: Extract<Pending, { kind: "value" }>, bytes: Uint8Array, offset: number): void {
    const { frame, tag, vr } = pending;
    const le = frame.syntax.littleEndian;
    if (tag === FILE_META_GROUP_LENGTH) {
      this.metaGroupEnd = this.position + readUint32(bytes, 0, true);
      return;
    }
    if (frame.top && tag === EXTENDED_OFFSET_TABLE) this.eotOffsets = readUint64s(bytes, le);
    if (frame.top && tag === EXTENDED_OFFSET_TABLE_LENGTHS) this.eotLengths = readUint64s(bytes, le);
    const key = tagKey(tag);
    if (pending.bulk) {
      this.recordBulk(frame, key, frame.prefix + key, vr, { offset, length: bytes.length });
      return;
    }
    const attribute = toJsonAttribute(vr, bytes, { littleEndian: le, decode: frame.decode });
    frame.json[key] = attribute;
    if (tag === SPECIFIC_CHARACTER_SET) {
      frame.decode = charsetDecoder((attribute.Value ?? []) as (string | null)[]);
    }
  }

  /** Pops defined-length items and sequences that end at `position`. */
  private closeFrames(): void {
    for (;;) {
      const top = this.stack.at(-1);
      if (!top || top.end === undefined || this.position < top.end) return;
      if (this.position > top.end) throw new Part10Error("malformed", `value overruns its container at offset ${this.position}`);
      this.stack.pop();
    }
  }

  private charge(bytes: number): void {
    this.headerBytes += bytes;
    if (this.headerBytes > this.maxHeaderBytes) {
      throw new Part10Error("header-too-large", `header exceeds ${this.maxHeaderBytes} bytes`);
    }
  }
}

/** VR of an element in Implicit VR (PS3.5 7.1.3, 7.8.1). */
function implicitVR(tag: number): string {
  const group = tag >>> 16;
  const element = tag & 0xffff;
  if (group & 1) {
    // PS3.5 7.8.1: (gggg,0010-00FF) are Private Creator Data Elements, LO.
    return element >= 0x0010 && element <= 0x00ff ? "LO" : "UN";
  }
  return lookup(tag)?.vr ?? "UN";
}

function readTag(bytes: Uint8Array, le: boolean): number {
  return ((readUint16(bytes, 0, le) << 16) | readUint16(bytes, 2, le)) >>> 0;
}

function readUint16(bytes: Uint8Array, offset: number, le: boolean): number {
  const a = bytes[offset]!;
  const b = bytes[offset + 1]!;
  return le ? a | (b << 8) : (a << 8) | b;
}

function readUint32(bytes: Uint8Array, offset: number, le: boolean): number {
  const lo = readUint16(bytes, offset + (le ? 0 : 2), le);
  const hi = readUint16(bytes, offset + (le ? 2 : 0), le);
  return hi * 0x10000 + lo;
}

function readUint32s(bytes: Uint8Array, le: boolean): number[] {
  const out: number[] = [];
  for (let o = 0; o + 4 <= bytes.length; o += 4) out.push(readUint32(bytes, o, le));
  return out;
}

function readUint64s(bytes: Uint8Array, le: boolean): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let o = 0; o + 8 <= bytes.length; o += 8) out.push(Number(view.getBigUint64(o, le)));
  return out;
}

/** JPEG SOI + marker (ITU T.81 B.1.1.3), JPEG 2000 SOC + SIZ (15444-1 A.4), or a JP2 signature box. */
function startsCodestream(bytes: Uint8Array): boolean {
  const [a, b, c, d] = bytes;
  if (a === 0xff && b === 0xd8) return true;
  if (a === 0xff && b === 0x4f && c === 0xff && d === 0x51) return true;
  return a === 0x00 && b === 0x00 && c === 0x00 && d === 0x0c;
}

function assertNever(value: never): never {
  throw new Error(`unexpected ${String(value)}`);
}
