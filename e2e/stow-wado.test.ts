import { readFile } from "node:fs/promises";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { corpus, type ManifestEntry } from "./data/corpus";
import { first, get, parts, sha256, stow } from "./dicomweb";

const base = inject("base");
let files: ManifestEntry[];
const group = (name: string) => files.filter((f) => f.group === name);

beforeAll(async () => {
  ({ files } = await corpus());
});

describe("STOW-RS then WADO-RS, byte for byte", () => {
  it("stores 200 CT instances in one request and returns every one unchanged", async () => {
    const ct = group("ct");
    expect(ct).toHaveLength(200);
    const res = await stow(base, ct.map((f) => f.absPath), { partLengths: true });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/dicom+json");
    const body = (await res.json()) as Record<string, { Value: Record<string, { Value: unknown[] }>[] }>;
    const referenced = body["00081199"]!.Value;
    expect(referenced).toHaveLength(200);
    expect(body["00081198"]).toBeUndefined();
    expect(new Set(referenced.map((item) => first(item, "00081155")))).toEqual(new Set(ct.map((f) => f.sopInstanceUid)));
    for (const item of referenced) expect(first(item, "00081190")).toMatch(new RegExp(`^${base}/dicomweb/studies/[0-9.]+/series/[0-9.]+/instances/[0-9.]+$`));

    for (const file of ct) {
      const one = await get(`${base}/dicomweb/studies/${file.studyInstanceUid}/series/${file.seriesInstanceUid}/instances/${file.sopInstanceUid}`, {
        headers: { Accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' },
      });
      expect(one.status).toBe(200);
      const [part] = await parts(one);
      expect(part!.headers.get("content-type")).toBe(`application/dicom; transfer-syntax=${file.transferSyntaxUid}`);
      expect(sha256(part!.bytes)).toBe(file.sha256);
    }
  });

  it("retrieves the whole study as one multipart response of the stored bytes", async () => {
    const ct = group("ct");
    const res = await get(`${base}/dicomweb/studies/${ct[0]!.studyInstanceUid}`, { headers: { Accept: "multipart/related; type=application/dicom" } });
    expect(res.status).toBe(200);
    const got = await parts(res);
    expect(got.map((p) => sha256(p.bytes)).sort()).toEqual(ct.map((f) => f.sha256).sort());
  });

  it("is idempotent: re-sending stored instances succeeds and changes nothing", async () => {
    const some = group("ct").slice(0, 5);
    const again = await stow(base, some.map((f) => f.absPath));
    expect(again.status).toBe(200);
    const body = (await again.json()) as Record<string, { Value: unknown[] }>;
    expect(body["00081199"]!.Value).toHaveLength(5);
    const res = await get(`${base}/dicomweb/studies/${some[0]!.studyInstanceUid}`);
    const got = await parts(res);
    expect(got).toHaveLength(200);
    expect(got.map((p) => sha256(p.bytes)).sort()).toEqual(group("ct").map((f) => f.sha256).sort());
  });

  it("stores every compressed and special transfer syntax as received", async () => {
    // Several of pydicom's samples share one SOP Instance UID: store and check one at a time.
    for (const file of [...group("compressed"), ...group("multiframe"), ...group("mr").slice(0, 2)]) {
      const res = await stow(base, [file.absPath], { quoted: true });
      expect(res.status, file.path).toBe(200);
      await res.arrayBuffer();
      const one = await get(`${base}/dicomweb/studies/${file.studyInstanceUid}/series/${file.seriesInstanceUid}/instances/${file.sopInstanceUid}`);
      const [part] = await parts(one);
      expect(sha256(part!.bytes), file.path).toBe(file.sha256);
      expect(part!.headers.get("content-type")).toBe(`application/dicom; transfer-syntax=${file.transferSyntaxUid}`);
    }
  });
});

describe("WADO-RS metadata, frames and bulk data", () => {
  it("serves study metadata as DICOM JSON with absolute BulkDataURIs that resolve", async () => {
    const ct = group("ct");
    const res = await get(`${base}/dicomweb/studies/${ct[0]!.studyInstanceUid}/metadata`, { headers: { Accept: "application/dicom+json" } });
    expect(res.status).toBe(200);
    const metadata = (await res.json()) as Record<string, { vr: string; Value?: unknown[]; BulkDataURI?: string }>[];
    expect(metadata).toHaveLength(200);
    const sample = metadata.find((m) => first(m, "00080018") === ct[0]!.sopInstanceUid)!;
    expect(first(sample, "0020000D")).toBe(ct[0]!.studyInstanceUid);
    expect(first(sample, "00280010")).toBe(512);
    expect(sample["00100010"]!.Value![0]).toHaveProperty("Alphabetic");
    expect(sample["00090010"]).toEqual({ vr: "LO", Value: ["DICOMEDGE TEST"] }); // private creator kept
    const pixel = sample["7FE00010"]!;
    expect(pixel.BulkDataURI).toBe(`${base}/dicomweb/studies/${ct[0]!.studyInstanceUid}/series/${ct[0]!.seriesInstanceUid}/instances/${ct[0]!.sopInstanceUid}/bulkdata/7FE00010`);
    const bulk = await get(pixel.BulkDataURI!, { headers: { Accept: "multipart/related; type=application/octet-stream" } });
    expect(bulk.status).toBe(200);
    const [part] = await parts(bulk);
    const file = await readFile(ct[0]!.absPath);
    expect(part!.bytes.byteLength).toBe(512 * 512 * 2);
    expect(sha256(part!.bytes)).toBe(sha256(file.subarray(ct[0]!.pixelDataOffset!, ct[0]!.pixelDataOffset! + 512 * 512 * 2)));
  });

  it("serves series and instance metadata", async () => {
    const f = group("ct")[3]!;
    const series = await get(`${base}/dicomweb/studies/${f.studyInstanceUid}/series/${f.seriesInstanceUid}/metadata`);
    expect(((await series.json()) as unknown[]).length).toBe(group("ct").filter((c) => c.seriesInstanceUid === f.seriesInstanceUid).length);
    const instance = await get(`${base}/dicomweb/studies/${f.studyInstanceUid}/series/${f.seriesInstanceUid}/instances/${f.sopInstanceUid}/metadata`);
    const [only] = (await instance.json()) as Record<string, { Value?: unknown[] }>[];
    expect(first(only!, "00080018")).toBe(f.sopInstanceUid);
  });

  it("serves native frames of a multi-frame instance by range", async () => {
    const mf = group("multiframe").find((f) => f.numberOfFrames === 30)!;
    const file = await readFile(mf.absPath);
    const url = `${base}/dicomweb/studies/${mf.studyInstanceUid}/series/${mf.seriesInstanceUid}/instances/${mf.sopInstanceUid}/frames/1,7,30`;
    const res = await get(url, { headers: { Accept: "multipart/related; type=application/octet-stream; transfer-syntax=*" } });
    expect(res.status).toBe(200);
    const got = await parts(res);
    expect(got).toHaveLength(3);
    [1, 7, 30].forEach((n, i) => {
      const start = mf.pixelDataOffset! + (n - 1) * mf.frameSize!;
      expect(got[i]!.headers.get("content-type")).toBe("application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1");
      expect(Buffer.compare(Buffer.from(got[i]!.bytes), file.subarray(start, start + mf.frameSize!))).toBe(0);
    });
    const missing = await get(url.replace("1,7,30", "31"));
    expect(missing.status).toBe(404);
  });

  it("serves encapsulated frames in their stored media type", async () => {
    const jpeg = group("compressed").find((f) => f.transferSyntaxUid === "1.2.840.10008.1.2.4.50")!;
    expect((await (await stow(base, [jpeg.absPath])).json()) as object).toHaveProperty("00081199");
    const res = await get(`${base}/dicomweb/studies/${jpeg.studyInstanceUid}/series/${jpeg.seriesInstanceUid}/instances/${jpeg.sopInstanceUid}/frames/1`, {
      headers: { Accept: "multipart/related; type=application/octet-stream; transfer-syntax=*" },
    });
    expect(res.status).toBe(200);
    const [frame] = await parts(res);
    expect(frame!.headers.get("content-type")).toBe("image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.50");
    expect([...frame!.bytes.subarray(0, 2)]).toEqual([0xff, 0xd8]); // JPEG SOI
    expect(sha256(frame!.bytes)).not.toBe(jpeg.sha256);
  });
});
