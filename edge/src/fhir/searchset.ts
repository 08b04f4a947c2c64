/**
 * Runs a FHIR search: resolve the patients it names (patient-lookup.ts),
 * ask the backend for one page of the plan's Query, count the matches, map
 * them to resources and wrap them in a searchset Bundle.
 *
 * Paging is by offset (_count, _offset), which the engine's LIMIT/OFFSET
 * serves directly. Bundle.total costs at most one more search: it is exact
 * when the page ends the results, else counted past the page up to
 * COUNT_LIMIT matches and left out beyond that (total is optional in R4).
 */
import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { buildQuery } from "@dicom-edge/shared/query/build";
import { isQueryError, type Query } from "@dicom-edge/shared/query/model";
import type { Backend } from "../backends/backend";
import { searchsetBundle } from "./bundle";
import { imagingStudyResource } from "./imaging-study";
import { FhirError, operationOutcome } from "./outcome";
import type { ParsedSearch } from "./params";
import { patientKeyOf, patientResource } from "./patient";
import { resolvePatients, type ResolvedPatients } from "./patient-lookup";
import { patientResourceId } from "./patient-id";
import type { Bundle, Patient, Resource } from "./r4";
import { patientSearchPlan, studySearchPlan, type SearchPlan } from "./search";
import { studyContents } from "./study-content";

/** Matches counted past a page for Bundle.total. */
export const COUNT_LIMIT = 1000;
/** Matches a search tied to patients that share a Patient ID may hold (they are checked one by one). */
export const CHECKED_LIMIT = 1000;

export interface Page {
  count: number;
  offset: number;
}

export interface PageOfMatches {
  datasets: DicomJson[];
  total?: number;
  more: boolean;
}

/** One page of a plan's matches, with the total when it is known. */
export async function runPlan(backend: Backend, plan: SearchPlan, page: Page): Promise<PageOfMatches> {
  const nothing = { datasets: [], total: 0, more: false };
  if (plan.none) return nothing;
  const resolved: Omit<ResolvedPatients, "patients"> | undefined = plan.patients.length > 0 ? await resolvePatients(backend, plan.patients) : { matches: [] };
  if (!resolved) return nothing;
  const matches = [...plan.matches, ...resolved.matches];

  const keep = resolved.keep;
  if (keep) {
    const all = await search(backend, buildQuery(plan.level, matches, { limit: CHECKED_LIMIT }));
    if (all.truncated) throw new FhirError(400, "too-costly", `more than ${CHECKED_LIMIT} candidates to check for these patients; narrow the search`);
    const kept = all.datasets.filter(keep);
    const more = page.offset + page.count < kept.length;
    return { datasets: kept.slice(page.offset, page.offset + page.count), total: kept.length, more };
  }

  const query = (limit: number, offset: number) => buildQuery(plan.level, matches, { limit, offset });
  const { datasets, truncated } = page.count > 0 ? await search(backend, query(page.count, page.offset)) : { datasets: [], truncated: true };
  if (!truncated && (datasets.length > 0 || page.offset === 0)) return { datasets, total: page.offset + datasets.length, more: false };
  // Past the end, or more to come: count from where the known part stops.
  const from = datasets.length > 0 ? page.offset + datasets.length : 0;
  const rest = await search(backend, query(COUNT_LIMIT, from));
  return { datasets, ...(!rest.truncated && { total: from + rest.datasets.length }), more: truncated };
}

async function search(backend: Backend, query: Query): Promise<{ datasets: DicomJson[]; truncated: boolean }> {
  const result = await backend.search(query);
  if (isQueryError(result)) throw new FhirError(400, "invalid", result.reason);
  return { datasets: result.matches.map((m) => m.dataset), truncated: result.truncated };
}

export interface SearchContext {
  backend: Backend;
  /** `<origin>/fhir` */
  base: string;
  search: ParsedSearch;
}

export async function searchPatients({ backend, base, search }: SearchContext): Promise<Bundle> {
  const page = await runPlan(backend, patientSearchPlan(search), search);
  const matches = page.datasets.map(patientResource).filter((p): p is Patient => p !== undefined);
  return bundle(base, "Patient", search, page, matches, []);
}

export async function searchImagingStudies({ backend, base, search }: SearchContext): Promise<Bundle> {
  const page = await runPlan(backend, studySearchPlan(search, base), search);
  const contents = await studyContents(backend, page.datasets);
  const matches = contents.map(imagingStudyResource);
  const included = new Map<string, Patient>();
  if (search.include.length > 0) {
    for (const study of page.datasets) {
      const key = patientKeyOf(study);
      const patient = key && !included.has(patientResourceId(key)) ? patientResource(study) : undefined;
      if (patient) included.set(patient.id, patient);
    }
  }
  return bundle(base, "ImagingStudy", search, page, matches, [...included.values()]);
}

function bundle(base: string, type: string, search: ParsedSearch, page: PageOfMatches, matches: Resource[], included: Resource[]): Bundle {
  return searchsetBundle({
    base,
    type,
    applied: search.applied,
    count: search.count,
    offset: search.offset,
    ...(page.total !== undefined && { total: page.total }),
    more: page.more,
    matches,
    included,
    ...(search.ignored.length > 0 && {
      outcome: operationOutcome("warning", "not-supported", `ignored (Prefer: handling=lenient): ${search.ignored.join(", ")}`),
    }),
  });
}
