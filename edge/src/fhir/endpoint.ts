/**
 * The one Endpoint (R4 endpoint.html): this edge's DICOMweb service, which
 * every ImagingStudy names in its endpoint. Its address comes from the
 * request's origin, as the DICOMweb base URL does (dicomweb/routes.ts).
 */
import type { Endpoint } from "./r4";

export const ENDPOINT_ID = "dicomweb";

export function endpointResource(origin: string): Endpoint {
  return {
    resourceType: "Endpoint",
    id: ENDPOINT_ID,
    status: "active",
    connectionType: { system: "http://terminology.hl7.org/CodeSystem/endpoint-connection-type", code: "dicom-wado-rs", display: "DICOM WADO-RS" },
    name: "dicom-edge DICOMweb (WADO-RS, QIDO-RS, STOW-RS)",
    payloadType: [{ text: "DICOM" }],
    payloadMimeType: ["application/dicom", "application/dicom+json", "application/octet-stream"],
    address: `${origin}/dicomweb`,
  };
}
