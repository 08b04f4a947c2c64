/**
 * The slice of FHIR R4 (4.0.1) this edge emits, as TypeScript shapes: only
 * the elements it fills, named as in the R4 resource definitions.
 */

export interface Coding {
  system?: string;
  code?: string;
  display?: string;
}

export interface CodeableConcept {
  coding?: Coding[];
  text?: string;
}

export interface Identifier {
  use?: "usual" | "official" | "temp" | "secondary" | "old";
  type?: CodeableConcept;
  system?: string;
  value?: string;
}

export interface Reference {
  reference?: string;
  display?: string;
}

export interface HumanName {
  use?: "usual" | "official" | "temp" | "nickname" | "anonymous" | "old" | "maiden";
  family?: string;
  given?: string[];
  prefix?: string[];
  suffix?: string[];
}

export interface Patient {
  resourceType: "Patient";
  id: string;
  identifier?: Identifier[];
  name?: HumanName[];
  gender: "male" | "female" | "other" | "unknown";
  birthDate?: string;
}

export interface ImagingStudyInstance {
  uid: string;
  sopClass: Coding;
  number?: number;
}

export interface ImagingStudySeries {
  uid: string;
  number?: number;
  modality: Coding;
  description?: string;
  numberOfInstances?: number;
  bodySite?: Coding;
  started?: string;
  instance?: ImagingStudyInstance[];
}

export interface ImagingStudy {
  resourceType: "ImagingStudy";
  id: string;
  identifier: Identifier[];
  status: "registered" | "available" | "cancelled" | "entered-in-error" | "unknown";
  modality?: Coding[];
  subject: Reference;
  started?: string;
  endpoint?: Reference[];
  numberOfSeries?: number;
  numberOfInstances?: number;
  description?: string;
  series?: ImagingStudySeries[];
}

export interface Endpoint {
  resourceType: "Endpoint";
  id: string;
  status: "active";
  connectionType: Coding;
  name?: string;
  payloadType: CodeableConcept[];
  payloadMimeType?: string[];
  address: string;
}

export type IssueSeverity = "fatal" | "error" | "warning" | "information";

/** R4 IssueType codes used here (valueset-issue-type). */
export type IssueType = "invalid" | "not-found" | "not-supported" | "too-costly" | "login" | "forbidden" | "exception" | "transient" | "timeout" | "informational";

export interface OperationOutcome {
  resourceType: "OperationOutcome";
  issue: { severity: IssueSeverity; code: IssueType; diagnostics?: string }[];
}

export type Resource = Patient | ImagingStudy | Endpoint | OperationOutcome;

export interface BundleLink {
  relation: "self" | "first" | "previous" | "next" | "last";
  url: string;
}

export interface BundleEntry {
  fullUrl?: string;
  resource: Resource;
  search: { mode: "match" | "include" | "outcome" };
}

export interface Bundle {
  resourceType: "Bundle";
  type: "searchset";
  total?: number;
  link: BundleLink[];
  /** Absent when empty: FHIR JSON has no empty arrays (R4 json.html). */
  entry?: BundleEntry[];
}
