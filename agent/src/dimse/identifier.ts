/**
 * The Identifier of a C-FIND, C-GET or C-MOVE request (PS3.4 C.4.1.1.3,
 * C.4.2.1.4, C.4.3.1.3): a small data set in the presentation context's
 * transfer syntax, decoded to DICOM JSON for the edge.
 */
import { readDataset } from "@dicom-edge/shared/dicom/dataset-codec";
import type { DicomJson } from "@dicom-edge/shared/dicom/json";

/** A request identifier is a few hundred bytes; larger ones are refused rather than buffered. */
export const MAX_IDENTIFIER_BYTES = 1024 * 1024;

export type DecodedIdentifier = { identifier: DicomJson } | { error: string };

/** Reads and decodes the identifier; an error says why it cannot be used. */
export async function decodeIdentifier(chunks: AsyncIterable<Uint8Array> | undefined, transferSyntax: string): Promise<DecodedIdentifier> {
  if (!chunks) return { error: "request without an identifier" };
  const parts: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of chunks) {
    length += chunk.byteLength;
    if (length > MAX_IDENTIFIER_BYTES) return { error: "identifier too large" };
    parts.push(chunk);
  }
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.byteLength;
  }
  try {
    return { identifier: readDataset(bytes, transferSyntax) };
  } catch {
    return { error: "identifier cannot be decoded" };
  }
}
