/**
 * Searchset Bundles (R4 bundle.html, search.html#bundle): the page's
 * matches, the resources _include added, an OperationOutcome for what
 * lenient handling dropped, and links that page with _count and _offset.
 * Pure.
 */
import type { Bundle, BundleEntry, BundleLink, OperationOutcome, Resource } from "./r4";

export interface SearchsetPage {
  /** This server's FHIR base, `<origin>/fhir`. */
  base: string;
  type: string;
  /** The parameters the search ran with, without _count and _offset. */
  applied: [string, string][];
  count: number;
  offset: number;
  /** Matches in all pages, when known. */
  total?: number;
  /** More matches follow this page. */
  more: boolean;
  matches: Resource[];
  included?: Resource[];
  outcome?: OperationOutcome;
}

export function searchsetBundle(page: SearchsetPage): Bundle {
  const entry: BundleEntry[] = [
    ...page.matches.map((resource) => entryOf(page.base, resource, "match")),
    ...(page.included ?? []).map((resource) => entryOf(page.base, resource, "include")),
    ...(page.outcome ? [{ resource: page.outcome, search: { mode: "outcome" as const } }] : []),
  ];
  return {
    resourceType: "Bundle",
    type: "searchset",
    ...(page.total !== undefined && { total: page.total }),
    link: links(page),
    ...(entry.length > 0 && { entry }),
  };
}

function entryOf(base: string, resource: Resource, mode: "match" | "include"): BundleEntry {
  return { fullUrl: `${base}/${resource.resourceType}/${"id" in resource ? resource.id : ""}`, resource, search: { mode } };
}

function links(page: SearchsetPage): BundleLink[] {
  const url = (offset: number) => {
    const query = new URLSearchParams(page.applied);
    query.set("_count", String(page.count));
    query.set("_offset", String(offset));
    return `${page.base}/${page.type}?${query}`;
  };
  const out: BundleLink[] = [{ relation: "self", url: url(page.offset) }, { relation: "first", url: url(0) }];
  if (page.count === 0) return out;
  if (page.offset > 0) out.push({ relation: "previous", url: url(Math.max(0, page.offset - page.count)) });
  if (page.more) out.push({ relation: "next", url: url(page.offset + page.count) });
  if (page.total !== undefined && page.total > 0) out.push({ relation: "last", url: url(Math.floor((page.total - 1) / page.count) * page.count) });
  return out;
}
