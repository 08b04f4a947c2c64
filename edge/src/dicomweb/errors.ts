/** HTTP statuses the DICOMweb frontend answers with (PS3.18 8.5, 10.4-10.6). */
export type DicomWebStatus = 400 | 404 | 405 | 406 | 409 | 413 | 415 | 500 | 502 | 503 | 504;

/** A request the frontend refuses; mapped to a response in one place (app.ts). */
export class DicomWebError extends Error {
  constructor(
    readonly status: DicomWebStatus,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The error body: a DICOM JSON dataset with ErrorComment (0000,0902), so a
 * DICOMweb client gets the reason in the media type it already reads.
 */
export function errorResponse(status: number, message: string): Response {
  return new Response(JSON.stringify([{ "00000902": { vr: "LO", Value: [message] } }]), {
    status,
    headers: { "Content-Type": "application/dicom+json" },
  });
}
