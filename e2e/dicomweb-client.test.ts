import { readFile } from "node:fs/promises";
import { api } from "dicomweb-client";
import XHR2 from "xhr2";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { corpus, type ManifestEntry } from "./data/corpus";
import { stow } from "./dicomweb";

// dicomweb-client is OHIF's DICOMweb client; it speaks through the browser's
// XMLHttpRequest, which xhr2 provides in Node over real HTTP.
(globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest = XHR2;

const base = inject("base");
let mr: ManifestEntry[];
let multiframe: ManifestEntry;
let client: InstanceType<typeof api.DICOMwebClient>;

beforeAll(async () => {
  const { files } = await corpus();
  mr = files.filter((f) => f.group === "mr");
  multiframe = files.find((f) => f.group === "multiframe" && f.numberOfFrames === 30)!;
  const res = await stow(base, [...mr.map((f) => f.absPath), multiframe.absPath]);
  expect(res.status).toBe(200);
  await res.arrayBuffer();
  client = new api.DICOMwebClient({ url: `${base}/dicomweb`, singlepart: false } as ConstructorParameters<typeof api.DICOMwebClient>[0]);
});

type Dataset = Record<string, { Value?: unknown[]; BulkDataURI?: string }>;

describe("dicomweb-client (OHIF's client) against the edge", () => {
  it("searches for studies, series and instances as OHIF does", async () => {
    const f = mr[0]!;
    const studies = (await client.searchForStudies({
      queryParams: { limit: "101", offset: "0", fuzzymatching: "false", includefield: "00081030,00080060", "00100020": "*" },
    } as never)) as Dataset[];
    const study = studies.find((s) => s["0020000D"]!.Value![0] === f.studyInstanceUid)!;
    expect(study["00080061"]!.Value).toEqual(["MR"]);
    expect(study["00201208"]!.Value).toEqual([mr.length]);
    expect(study["00081030"]!.Value).toEqual(["MR BRAIN WO CONTRAST"]);
    const series = (await client.searchForSeries({ studyInstanceUID: f.studyInstanceUid } as never)) as Dataset[];
    expect(series.map((s) => s["0020000E"]!.Value![0])).toEqual([f.seriesInstanceUid]);
    const instances = (await client.searchForInstances({ studyInstanceUID: f.studyInstanceUid, seriesInstanceUID: f.seriesInstanceUid } as never)) as Dataset[];
    expect(new Set(instances.map((i) => i["00080018"]!.Value![0]))).toEqual(new Set(mr.map((m) => m.sopInstanceUid)));
  });

  it("retrieves series metadata with absolute BulkDataURIs", async () => {
    const f = mr[0]!;
    const metadata = (await client.retrieveSeriesMetadata({ studyInstanceUID: f.studyInstanceUid, seriesInstanceUID: f.seriesInstanceUid } as never)) as Dataset[];
    expect(metadata).toHaveLength(mr.length);
    const mine = metadata.find((m) => m["00080018"]!.Value![0] === f.sopInstanceUid)!;
    expect(mine["00280010"]!.Value).toEqual([256]);
    expect(mine["7FE00010"]!.BulkDataURI).toMatch(new RegExp(`^${base}/dicomweb/studies/`));
  });

  it("retrieves frames whose bytes are the stored pixel data", async () => {
    const file = await readFile(multiframe.absPath);
    const frames = (await client.retrieveInstanceFrames({
      studyInstanceUID: multiframe.studyInstanceUid,
      seriesInstanceUID: multiframe.seriesInstanceUid,
      sopInstanceUID: multiframe.sopInstanceUid,
      frameNumbers: [2, 30],
    } as never)) as ArrayBuffer[];
    expect(frames).toHaveLength(2);
    [2, 30].forEach((n, i) => {
      const start = multiframe.pixelDataOffset! + (n - 1) * multiframe.frameSize!;
      expect(Buffer.from(frames[i]!).equals(file.subarray(start, start + multiframe.frameSize!))).toBe(true);
    });
  });

  it("retrieves an instance byte for byte", async () => {
    const f = mr[3]!;
    const instance = (await client.retrieveInstance({ studyInstanceUID: f.studyInstanceUid, seriesInstanceUID: f.seriesInstanceUid, sopInstanceUID: f.sopInstanceUid } as never)) as ArrayBuffer;
    expect(Buffer.from(instance).equals(await readFile(f.absPath))).toBe(true);
  });
});
