/**
 * DICOM encoding for dicom-edge: the data dictionary, transfer syntaxes,
 * the streaming Part-10 header reader, frame location, and the codec of
 * the small raw datasets DIMSE carries (C-FIND identifiers).
 */
export { DICTIONARY, keywordToTag, lookup, type DictionaryEntry } from "./dictionary.ts";
export {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
  transferSyntax,
  transferSyntaxes,
  type TransferSyntax,
} from "./transfer-syntax.ts";
export {
  Part10Error,
  Part10Reader,
  type ByteRange,
  type Part10ErrorCode,
  type Part10Header,
  type Part10ReaderOptions,
  type PixelDataInfo,
} from "./part10-reader.ts";
export {
  numberValue,
  personName,
  sequenceItems,
  stringValue,
  tagKey,
  type DicomJson,
  type DicomJsonAttribute,
  type PersonName,
} from "./json.ts";
export { frameRanges } from "./frames.ts";
export { DatasetCodecError, readDataset, writeDataset, type DatasetCodecErrorCode } from "./dataset-codec.ts";
