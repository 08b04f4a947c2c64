// dcmtk's command-line tools as the DIMSE peer (agent/src/testing/dcmtk.ts),
// and what a test needs to compare what it sent with what was stored.
import { spawnSync } from "node:child_process";
import { basename, join } from "node:path";
import { dcmtk as runDcmtk } from "../agent/src/testing/dcmtk";

import { writtenDatasets } from "../agent/src/testing/part10";
import { expect } from "vitest";
export { datasetOf, writtenDatasets } from "../agent/src/testing/part10";
import type { ManifestEntry } from "./data/corpus";

export interface ToolResult {
  code: number | null;
  output: string;
}

/** dcmtk as the agent's own tests run it, with the long timeout an e2e transfer needs. */
export async function dcmtk(tool: "echoscu" | "storescu" | "findscu" | "getscu" | "movescu", args: string[], timeoutMs = 300_000): Promise<ToolResult> {
  const { code, out } = await runDcmtk(tool, args, timeoutMs);
  return { code, output: out };
}

/** The files dcmtk wrote to `dir` are `expected`'s instances, each data set byte for byte the one `reference` holds for it. */
export async function expectDatasetsIn(dir: string, expected: Pick<ManifestEntry, "sopInstanceUid">[], reference: ReadonlyMap<string, Uint8Array>): Promise<void> {
  const received = await writtenDatasets(dir);
  expect([...received.keys()].sort()).toEqual(expected.map((f) => f.sopInstanceUid).sort());
  for (const [sop, bytes] of received) expect(Buffer.compare(bytes, reference.get(sop)!), sop).toBe(0);
}

/** Study Root retrieve keys (PS3.4 C.6.2.1) naming a file's study. */
export function studyKeys(f: Pick<ManifestEntry, "studyInstanceUid">): string[] {
  return ["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", `StudyInstanceUID=${f.studyInstanceUid}`];
}

/** Study Root retrieve keys naming a file's series. */
export function seriesKeys(f: Pick<ManifestEntry, "studyInstanceUid" | "seriesInstanceUid">): string[] {
  return ["-S", "-k", "QueryRetrieveLevel=SERIES", "-k", `StudyInstanceUID=${f.studyInstanceUid}`, "-k", `SeriesInstanceUID=${f.seriesInstanceUid}`];
}

/** getscu of `keys` from a peer on loopback into `dir`, the files written bit for bit as received (+B). */
export function getscu(peer: { aeTitle: string; port: number }, dir: string, keys: string[]): Promise<ToolResult> {
  return dcmtk("getscu", ["-v", "-aec", peer.aeTitle, "+B", "-od", dir, ...keys, "127.0.0.1", String(peer.port)]);
}

/** movescu of `keys` at a peer on loopback, to the Move Destination `destination`. */
export function movescu(peer: { aeTitle: string; port: number }, destination: string, keys: string[]): Promise<ToolResult> {
  return dcmtk("movescu", ["-v", "-aec", peer.aeTitle, "-aem", destination, ...keys, "127.0.0.1", String(peer.port)]);
}

/** storescu's option that proposes exactly a file's transfer syntax (with -R), so it is sent unconverted. */
export const PROPOSE: Record<string, string> = {
  "1.2.840.10008.1.2": "-xi",
  "1.2.840.10008.1.2.1": "-xe",
  "1.2.840.10008.1.2.2": "-xb",
  "1.2.840.10008.1.2.1.99": "-xd",
  "1.2.840.10008.1.2.4.50": "-xy",
  "1.2.840.10008.1.2.4.51": "-xx",
  "1.2.840.10008.1.2.4.70": "-xs",
  "1.2.840.10008.1.2.4.80": "-xt",
  "1.2.840.10008.1.2.4.81": "-xu",
  "1.2.840.10008.1.2.4.90": "-xv",
  "1.2.840.10008.1.2.4.91": "-xw",
  "1.2.840.10008.1.2.5": "-xr",
};

/**
 * The file as dcmtk writes it, in `dir`. storescu sends what dcmtk's writer
 * makes of a file (it re-encodes UN sequences, drops Data Set Trailing
 * Padding), so the reference for "the bytes that were sent" is the file
 * passed through dcmconv once, in its own transfer syntax, without padding.
 */
export function asDcmtkSends(f: ManifestEntry, dir: string): string {
  const out = join(dir, `${f.group}-${basename(f.path)}`);
  const converted = spawnSync("dcmconv", ["-q", f.absPath, out]);
  if (converted.status !== 0) throw new Error(`dcmconv ${f.path}: ${converted.stderr}`);
  const padding = spawnSync("dcmodify", ["-q", "-nb", "-imt", "-e", "(FFFC,FFFC)", out]);
  if (padding.status !== 0) throw new Error(`dcmodify ${f.path}: ${padding.stderr}`);
  return out;
}
