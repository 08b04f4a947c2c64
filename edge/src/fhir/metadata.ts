/**
 * The CapabilityStatement (R4 capabilitystatement.html) at GET /fhir/metadata:
 * exactly what this server does, read from the same tables the search
 * parser uses (search-params.ts).
 */
import { FHIR_JSON } from "./outcome";
import { DEFAULT_COUNT, MAX_COUNT, SEARCH_INCLUDES, SEARCH_PARAMS, type SearchableType } from "./search-params";
import { SUBSCRIPTION_SEARCH_PARAMS } from "./subscription/routes";

/** When the capabilities below last changed. */
export const CAPABILITIES_DATE = "2026-11-29";

const SEARCHABLE: readonly SearchableType[] = ["Patient", "ImagingStudy"];

export function capabilityStatement(origin: string, version: string) {
  return {
    resourceType: "CapabilityStatement",
    status: "active",
    date: CAPABILITIES_DATE,
    publisher: "dicom-edge",
    kind: "instance",
    software: { name: "dicom-edge", version },
    implementation: { description: "dicom-edge: the archive's index as FHIR R4 Patient and ImagingStudy", url: `${origin}/fhir` },
    fhirVersion: "4.0.1",
    format: [FHIR_JSON, "json"],
    rest: [
      {
        mode: "server",
        documentation:
          `Patient, ImagingStudy and Endpoint are read-only; Subscriptions (rest-hook, criteria on ImagingStudy) are created, read, searched and deleted. Searches page with _count (default ${DEFAULT_COUNT}, at most ${MAX_COUNT}) and _offset (0-based position of the first result); ` +
          "unknown parameters are refused with 400 unless the request has Prefer: handling=lenient. " +
          "Patient.id is the Patient ID with [A-Za-z0-9-] kept and other bytes as .XX, \".-\" and the escaped Issuer of Patient ID when present.",
        resource: [
          ...SEARCHABLE.map((type) => ({
            type,
            profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
            interaction: [{ code: "read" }, { code: "search-type" }],
            versioning: "no-version",
            readHistory: false,
            updateCreate: false,
            ...(SEARCH_INCLUDES[type].length > 0 && { searchInclude: [...SEARCH_INCLUDES[type]] }),
            searchParam: SEARCH_PARAMS[type].map(({ name, definition, type: paramType, documentation }) => ({ name, definition, type: paramType, documentation })),
          })),
          {
            type: "Subscription",
            profile: "http://hl7.org/fhir/StructureDefinition/Subscription",
            documentation:
              "criteria: ImagingStudy with this server's ImagingStudy search parameters; channel rest-hook only (https, or http to loopback), " +
              "payload application/fhir+json (the ImagingStudy) or none; notified on every study created, changed or deleted, retried with backoff, " +
              "status error after 5 failed deliveries in a row.",
            interaction: [{ code: "create" }, { code: "read" }, { code: "search-type" }, { code: "delete" }],
            versioning: "no-version",
            readHistory: false,
            updateCreate: false,
            searchParam: SUBSCRIPTION_SEARCH_PARAMS.map(({ name, definition, type }) => ({ name, definition, type })),
          },
          {
            type: "Endpoint",
            profile: "http://hl7.org/fhir/StructureDefinition/Endpoint",
            documentation: "One Endpoint, \"dicomweb\": this server's DICOMweb base URL.",
            interaction: [{ code: "read" }],
            versioning: "no-version",
            readHistory: false,
            updateCreate: false,
          },
        ],
      },
    ],
  };
}
