import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startAgent, type Agent } from "./agent";
import { corpus, type ManifestEntry } from "./data/corpus";
import { asDcmtkSends, datasetOf, dcmtk, PROPOSE } from "./dcmtk";
import { get, parts } from "./dicomweb";

const base = inject("base");
let agent: Agent;
let files: ManifestEntry[];

let scratch: string;

beforeAll(async () => {
  ({ files } = await corpus());
  scratch = await mkdtemp(join(tmpdir(), "dicom-edge-sent-"));
  agent = await startAgent({ base, id: "e2e" });
});
afterAll(async () => {
  await agent?.stop();
  await rm(scratch, { recursive: true, force: true });
});

async function retrieve(f: ManifestEntry): Promise<Uint8Array> {
  const res = await get(`${base}/dicomweb/studies/${f.studyInstanceUid}/series/${f.seriesInstanceUid}/instances/${f.sopInstanceUid}`);
  expect(res.status, f.path).toBe(200);
  return (await parts(res))[0]!.bytes;
}

describe("DIMSE into the edge through the agent", () => {
  it("answers C-ECHO once the edge answers", async () => {
    const { code, output } = await dcmtk("echoscu", ["-v", "-aec", "DICOMEDGE", "127.0.0.1", String(agent.port)]);
    expect(code).toBe(0);
    expect(output).toContain("Received Echo Response (Success)");
  });

  it("stores a few hundred instances of mixed transfer syntaxes, each dataset byte for byte", async () => {
    // One storescu run per transfer syntax, proposing only that syntax, so dcmtk sends each file as it is.
    const sent = files.filter((f) => ["ct", "mr", "compressed", "multiframe"].includes(f.group) && PROPOSE[f.transferSyntaxUid]);
    const bySyntax = new Map<string, ManifestEntry[]>();
    for (const f of sent) bySyntax.set(f.transferSyntaxUid, [...(bySyntax.get(f.transferSyntaxUid) ?? []), f]);
    expect(bySyntax.size).toBeGreaterThanOrEqual(8);
    // pydicom's samples share SOP Instance UIDs across syntaxes; each file is checked right after its own run.
    for (const [syntax, group] of bySyntax) {
      const unique = [...new Map(group.map((f) => [f.sopInstanceUid, f])).values()];
      const paths = await Promise.all(unique.map((f) => asDcmtkSends(f, scratch)));
      const { code, output } = await dcmtk("storescu", ["-R", PROPOSE[syntax]!, "-aec", "DICOMEDGE", "127.0.0.1", String(agent.port), ...paths]);
      expect(code, `${syntax}\n${output}`).toBe(0);
      expect(output, syntax).not.toMatch(/Status: (?!Success)|unable to convert/);
      for (const [i, f] of unique.entries()) {
        const stored = await retrieve(f);
        let original = datasetOf(new Uint8Array(await readFile(paths[i]!)));
        // PS3.5 A.5: on the wire a deflated dataset of odd length gets one NUL byte of padding.
        if (syntax === "1.2.840.10008.1.2.1.99" && original.byteLength % 2 === 1) original = Buffer.concat([original, Buffer.from([0])]);
        const got = datasetOf(stored);
        expect(Buffer.from(got).equals(Buffer.from(original)), `${f.path} (${syntax}): ${got.byteLength} bytes stored, ${original.byteLength} sent`).toBe(true);
      }
    }
  });
});
