import { readFile } from "node:fs/promises";
import { afterAll, describe, expect, inject, it } from "vitest";
import { startAgent, type Agent } from "./agent";
import { corpus } from "./data/corpus";
import { dcmtk } from "./dcmtk";
import { datasetDigests, fileDigest, first, get, partDigests, stow } from "./dicomweb";
import { peakRss } from "./memory";

const base = inject("base");
const pgid = inject("pgid");
/** Size of the large instance; LARGE_MB=1024 for the 1 GB round trip of the issue. */
const LARGE_MB = Number(process.env.LARGE_MB ?? 192);

describe(`a ${LARGE_MB} MiB instance`, () => {
  it("goes in through STOW-RS and comes out byte-identical, frames by range", { timeout: 600_000 }, async () => {
    const { files } = await corpus({ ct: 0, mr: 0, largeMb: LARGE_MB });
    const large = files.find((f) => f.group === "large")!;
    expect(large.size).toBeGreaterThan(LARGE_MB * 1024 * 1024 * 0.99);

    const stored = await peakRss(pgid, async () => {
      const res = await stow(base, [large.absPath], { partLengths: true });
      expect(res.status).toBe(200);
      return res.json();
    });
    expect(first(stored.result as Record<string, { Value: unknown[] }>, "00081190")).toBe(`${base}/dicomweb/studies/${large.studyInstanceUid}`);

    const url = `${base}/dicomweb/studies/${large.studyInstanceUid}/series/${large.seriesInstanceUid}/instances/${large.sopInstanceUid}`;
    const retrieved = await peakRss(pgid, async () => partDigests(await get(url, { headers: { Accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } })));
    expect(retrieved.result).toHaveLength(1);
    expect(retrieved.result[0]!.size).toBe(large.size);
    expect(retrieved.result[0]!.sha256).toBe(large.sha256);

    const last = large.numberOfFrames;
    const frame = await get(`${url}/frames/${last}`, { headers: { Accept: "multipart/related; type=application/octet-stream" } });
    const [part] = await partDigests(frame);
    expect(part!.size).toBe(large.frameSize);

    // Reported, not asserted: the figure for the note.
    console.log(`${LARGE_MB} MiB instance: peak RSS during STOW-RS ${JSON.stringify(stored.peakMiB)} MiB, during WADO-RS ${JSON.stringify(retrieved.peakMiB)} MiB`);
    const res = await fetch(`${base}/dicomweb/studies/${large.studyInstanceUid}`, { method: "DELETE" });
    expect(res.status).toBe(204);
  });
});

describe(`a ${LARGE_MB} MiB instance through the agent`, () => {
  let agent: Agent | undefined;
  afterAll(() => agent?.stop());

  it("goes in with storescu and comes out with the same dataset bytes", { timeout: 600_000 }, async () => {
    const { files } = await corpus({ ct: 0, mr: 0, largeMb: LARGE_MB });
    const large = files.find((f) => f.group === "large")!;
    agent = await startAgent({ base, id: "e2e" });
    const sent = await peakRss(pgid, () => peakRss(agent!.pid, () => dcmtk("storescu", ["-aec", "DICOMEDGE", "127.0.0.1", String(agent!.port), large.absPath], 600_000)));
    expect(sent.result.result.code, sent.result.result.output).toBe(0);
    expect(sent.result.result.output).not.toMatch(/Status: (?!Success)/);

    const url = `${base}/dicomweb/studies/${large.studyInstanceUid}/series/${large.seriesInstanceUid}/instances/${large.sopInstanceUid}`;
    // The stored file is a File Meta header of the agent's making, then the dataset as sent.
    const [stored] = await datasetDigests(await get(url));
    const header = await readFile(large.absPath).then((b) => b.subarray(0, 1024));
    const datasetStart = 144 + header.readUInt32LE(140);
    expect(stored!.size).toBe(large.size - datasetStart);
    expect(stored!.sha256).toBe(await fileDigest(large.absPath, datasetStart));
    const frame = await get(`${url}/frames/${large.numberOfFrames}`, { headers: { Accept: "multipart/related; type=application/octet-stream" } });
    const [last] = await partDigests(frame);
    expect(last!.size).toBe(large.frameSize);
    console.log(`${LARGE_MB} MiB through the agent: peak RSS of the agent ${JSON.stringify(sent.result.peakMiB)} MiB, of wrangler/workerd ${JSON.stringify(sent.peakMiB)} MiB`);
    expect((await fetch(`${base}/dicomweb/studies/${large.studyInstanceUid}`, { method: "DELETE" })).status).toBe(204);
  });
});
