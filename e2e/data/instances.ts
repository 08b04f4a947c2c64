// Small CT instances made in the test, for tests that need studies of their
// own (unique UIDs, a patient per test) rather than the shared corpus.
import { encodePart10, type Element } from "../../shared/src/dicom/testing/encode.ts";

export const CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2";

/** A UID under 2.25 (PS3.5 B.2) from a random UUID. */
export function randomUid(): string {
  return `2.25.${BigInt(`0x${crypto.randomUUID().replaceAll("-", "")}`)}`;
}

export interface CtInstance {
  patientId: string;
  patientName: string;
  study: string;
  series: string;
  sop: string;
  /** Instance Number (0020,0013). */
  number?: number;
  /** Study Description (0008,1030). */
  description?: string;
  /** More elements, in tag order after the Patient module (e.g. sex, body part, series number). */
  extra?: Element[];
}

/** A Part-10 CT instance in Explicit VR Little Endian, the study dated 2024-06-01. */
export function ctInstance(i: CtInstance): Uint8Array {
  const elements: Element[] = [
    { tag: 0x00080016, vr: "UI", value: CT_IMAGE_STORAGE },
    { tag: 0x00080018, vr: "UI", value: i.sop },
    { tag: 0x00080020, vr: "DA", value: "20240601" },
    { tag: 0x00080060, vr: "CS", value: "CT" },
    ...(i.description !== undefined ? [{ tag: 0x00081030, vr: "LO", value: i.description }] : []),
    { tag: 0x00100010, vr: "PN", value: i.patientName },
    { tag: 0x00100020, vr: "LO", value: i.patientId },
    ...(i.extra ?? []),
    { tag: 0x0020000d, vr: "UI", value: i.study },
    { tag: 0x0020000e, vr: "UI", value: i.series },
    { tag: 0x00200013, vr: "IS", value: String(i.number ?? 1) },
  ];
  elements.sort((a, b) => a.tag - b.tag);
  return encodePart10({ transferSyntaxUID: "1.2.840.10008.1.2.1", sopClassUID: CT_IMAGE_STORAGE, sopInstanceUID: i.sop, elements });
}
