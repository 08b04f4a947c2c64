/**
 * The File Meta Information of a Part-10 file (PS3.10 7.1) for a dataset
 * received over DIMSE: built from the C-STORE request and the presentation
 * context, so the stored file is this header followed by the received bytes
 * unchanged (DESIGN: Byte-faithful). Always Explicit VR Little Endian.
 */
export interface FileMetaSource {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  implementationClassUid: string;
  implementationVersionName: string;
  sourceAeTitle: string;
}

export function fileMetaInformation(source: FileMetaSource): Uint8Array {
  const elements = [
    element(0x0001, "OB", new Uint8Array([0x00, 0x01])), // FileMetaInformationVersion
    element(0x0002, "UI", uid(source.sopClassUid)), // MediaStorageSOPClassUID
    element(0x0003, "UI", uid(source.sopInstanceUid)), // MediaStorageSOPInstanceUID
    element(0x0010, "UI", uid(source.transferSyntaxUid)), // TransferSyntaxUID
    element(0x0012, "UI", uid(source.implementationClassUid)), // ImplementationClassUID
    element(0x0013, "SH", text(source.implementationVersionName)), // ImplementationVersionName
    element(0x0016, "AE", text(source.sourceAeTitle.trim())), // SourceApplicationEntityTitle
  ];
  const groupLength = elements.reduce((n, e) => n + e.byteLength, 0);
  const out = new Uint8Array(128 + 4 + 12 + groupLength);
  out.set([0x44, 0x49, 0x43, 0x4d], 128); // "DICM"
  const view = new DataView(out.buffer);
  // (0002,0000) FileMetaInformationGroupLength, UL
  out.set([0x02, 0x00, 0x00, 0x00, 0x55, 0x4c], 132);
  view.setUint16(138, 4, true);
  view.setUint32(140, groupLength, true);
  let at = 144;
  for (const e of elements) {
    out.set(e, at);
    at += e.byteLength;
  }
  return out;
}

/** PS3.5 6.2: UI values are padded to even length with NUL, others with a space. */
function uid(value: string): Uint8Array {
  const bytes = new TextEncoder().encode(value);
  return bytes.byteLength % 2 === 0 ? bytes : concatByte(bytes, 0x00);
}

function text(value: string): Uint8Array {
  const bytes = new TextEncoder().encode(value);
  return bytes.byteLength % 2 === 0 ? bytes : concatByte(bytes, 0x20);
}

function concatByte(bytes: Uint8Array, byte: number): Uint8Array {
  const out = new Uint8Array(bytes.byteLength + 1);
  out.set(bytes);
  out[bytes.byteLength] = byte;
  return out;
}

/** PS3.5 7.1.2: OB has a 4-byte length after two reserved bytes; UI, SH and AE a 2-byte length. */
function element(elementNumber: number, vr: "OB" | "UI" | "SH" | "AE", value: Uint8Array): Uint8Array {
  const long = vr === "OB";
  const out = new Uint8Array((long ? 12 : 8) + value.byteLength);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0x0002, true);
  view.setUint16(2, elementNumber, true);
  out[4] = vr.charCodeAt(0);
  out[5] = vr.charCodeAt(1);
  if (long) view.setUint32(8, value.byteLength, true);
  else view.setUint16(6, value.byteLength, true);
  out.set(value, long ? 12 : 8);
  return out;
}
