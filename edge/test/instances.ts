// Instances and requests for the Worker's tests, built in memory with the
// shared test encoder.
import { concat, encodePart10, type Element } from "@dicom-edge/shared/dicom/testing/encode";

export const CT = "1.2.840.10008.5.1.4.1.1.2";
export const EXPLICIT_LE = "1.2.840.10008.1.2.1";

export interface InstanceSpec {
  study: string;
  series?: string;
  sop: string;
  transferSyntax?: string;
  studyDate?: string;
  frames?: number;
  rows?: number;
  columns?: number;
  /** Replaces the pixel data element. */
  pixelData?: Element | null;
  /** Leave out SOP Instance UID (0008,0018). */
  withoutSop?: boolean;
  patientId?: string;
}

/** A 16-bit MONOCHROME2 CT instance whose pixel k of frame f is (f * 1000 + k) & 0xffff. */
export function instance(spec: InstanceSpec): Uint8Array {
  const rows = spec.rows ?? 4;
  const columns = spec.columns ?? 4;
  const frames = spec.frames ?? 1;
  const pixels = new Uint8Array(rows * columns * 2 * frames);
  const view = new DataView(pixels.buffer);
  for (let f = 0; f < frames; f++) for (let k = 0; k < rows * columns; k++) view.setUint16((f * rows * columns + k) * 2, (f * 1000 + k) & 0xffff, true);
  const elements: Element[] = [
    { tag: 0x00080016, vr: "UI", value: CT },
    ...(spec.withoutSop ? [] : [{ tag: 0x00080018, vr: "UI", value: spec.sop }]),
    { tag: 0x00080020, vr: "DA", value: spec.studyDate ?? "20240102" },
    { tag: 0x00080060, vr: "CS", value: "CT" },
    { tag: 0x00090010, vr: "LO", value: "EDGE TEST" },
    { tag: 0x00091001, vr: "LO", value: "private value " },
    { tag: 0x00100010, vr: "PN", value: "Doe^Jane" },
    { tag: 0x00100020, vr: "LO", value: spec.patientId ?? "PID-1" },
    { tag: 0x0020000d, vr: "UI", value: spec.study },
    { tag: 0x0020000e, vr: "UI", value: spec.series ?? `${spec.study}.1` },
    { tag: 0x00200013, vr: "IS", value: "1" },
    { tag: 0x00280002, vr: "US", value: 1 },
    { tag: 0x00280004, vr: "CS", value: "MONOCHROME2" },
    ...(frames > 1 ? [{ tag: 0x00280008, vr: "IS", value: String(frames) }] : []),
    { tag: 0x00280010, vr: "US", value: rows },
    { tag: 0x00280011, vr: "US", value: columns },
    { tag: 0x00280100, vr: "US", value: 16 },
    { tag: 0x00280101, vr: "US", value: 16 },
    { tag: 0x00280102, vr: "US", value: 15 },
    { tag: 0x00280103, vr: "US", value: 0 },
    ...(spec.pixelData === null ? [] : [spec.pixelData ?? { tag: 0x7fe00010, vr: "OW", value: pixels }]),
  ];
  return encodePart10({ transferSyntaxUID: spec.transferSyntax ?? EXPLICIT_LE, sopClassUID: CT, sopInstanceUID: spec.sop, elements });
}

const encoder = new TextEncoder();

/** A STOW-RS body of `parts`; `close: false` leaves out the close-delimiter. */
export function multipart(parts: Uint8Array[], boundary = "b0undary", close = true, partType = "application/dicom"): Uint8Array {
  return concat([
    ...parts.flatMap((part) => [encoder.encode(`--${boundary}\r\nContent-Type: ${partType}\r\n\r\n`), part, encoder.encode("\r\n")]),
    close ? encoder.encode(`--${boundary}--\r\n`) : new Uint8Array(0),
  ]);
}

export const STOW_TYPE = (boundary = "b0undary") => `multipart/related; type="application/dicom"; boundary=${boundary}`;
