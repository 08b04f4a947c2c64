/**
 * The DIMSE SCP against real dcmtk 3.6.7 peers (echoscu, storescu).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { datasetOf } from "../testing/part10.ts";
import { dcmtk } from "../testing/dcmtk.ts";
import { startTestServer } from "../testing/server.ts";
import type { DimseHandlers, DimseServer, StoreContext } from "./server.ts";

const run = promisify(execFile);
const SAMPLES = "/usr/lib/python3/dist-packages/pydicom/data/test_files";

async function datasetOfFile(path: string): Promise<Buffer> {
  return Buffer.from(datasetOf(new Uint8Array(await readFile(path))));
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dimse-server-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("DIMSE server with dcmtk peers", () => {
  let server: DimseServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  const start = async (handlers: Partial<DimseHandlers>) =>
    (server = await startTestServer({ maxPduLength: 65536, artimTimeoutMs: 30_000, handlers }));

  it("echoscu: the handler is called and Success returned", async () => {
    const calls: string[] = [];
    const { port } = await start({ echo: async (ctx) => (calls.push(`${ctx.callingAeTitle}->${ctx.calledAeTitle}`), { status: 0 }) });
    const r = await dcmtk("echoscu", ["-aet", "MODALITY", "-aec", "EDGE", "127.0.0.1", String(port)]);
    expect(r.code, r.out).toBe(0);
    expect(calls).toEqual(["MODALITY->EDGE"]);
  });

  it("echoscu reports the failure status the handler returns", async () => {
    const { port } = await start({ echo: async () => ({ status: 0x0110, errorComment: "edge unreachable" }) });
    const r = await dcmtk("echoscu", ["-v", "-aec", "EDGE", "127.0.0.1", String(port)]);
    // echoscu exits 0 whatever the status; its log shows what it received.
    expect(r.out).toMatch(/Received Echo Response \(Unknown Status: 0x110\)/);
    expect(r.out).not.toMatch(/Received Echo Response \(Success\)/);
  });

  it("storescu with a wrong called AE title gets A-ASSOCIATE-RJ", async () => {
    const { port } = await start({});
    const r = await dcmtk("storescu", ["-aec", "WRONG", "127.0.0.1", String(port), `${SAMPLES}/CT_small.dcm`]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/Association Rejected/i);
    expect(r.out).toMatch(/Called AE Title Not Recognized/i);
  });

  it("storescu: each file arrives in its own transfer syntax, byte for byte", async () => {
    // dcmtk re-encodes what it reads, so fixtures it would change are first
    // written by dcmtk itself (dcmconv, dcmodify): then the
    // bytes storescu puts on the wire are exactly the file's data set.
    const cases: { file: string; propose: string; ts: string; convert?: string[] }[] = [
      { file: "MR_small_bigendian.dcm", propose: "-xb", ts: "1.2.840.10008.1.2.2" },
      { file: "SC_rgb_rle.dcm", propose: "-xr", ts: "1.2.840.10008.1.2.5" },
      { file: "JPEG2000.dcm", propose: "-xw", ts: "1.2.840.10008.1.2.4.91", convert: [] },
      { file: "MR_small.dcm", propose: "-xi", ts: "1.2.840.10008.1.2", convert: ["+ti"] },
      { file: "MR_small.dcm", propose: "-xe", ts: "1.2.840.10008.1.2.1", convert: ["+te"] },
      { file: "image_dfl.dcm", propose: "-xd", ts: "1.2.840.10008.1.2.1.99", convert: [] },
    ];
    const received = new Map<string, { ts: string; bytes: Buffer }>();
    const { port } = await start({
      store: async (ctx: StoreContext) => {
        const parts: Buffer[] = [];
        for await (const c of ctx.dataset) parts.push(Buffer.from(c));
        received.set(ctx.transferSyntaxUid, { ts: ctx.transferSyntaxUid, bytes: Buffer.concat(parts) });
        return { status: 0 };
      },
    });
    for (const [i, c] of cases.entries()) {
      let path = `${SAMPLES}/${c.file}`;
      if (c.convert) {
        const out = join(dir, `${i}-${c.file}`);
        const conv = await dcmtk("dcmconv", [...c.convert, path, out]);
        expect(conv.code, conv.out).toBe(0);
        // storescu never sends Data Set Trailing Padding (FFFC,FFFC), which
        // belongs to files (PS3.10 7.2), so the fixture goes without it.
        const trim = await dcmtk("dcmodify", ["-nb", "-imt", "-e", "(fffc,fffc)", out]);
        expect(trim.code, trim.out).toBe(0);
        path = out;
      }
      const r = await dcmtk("storescu", ["-R", c.propose, "-aec", "EDGE", "127.0.0.1", String(port), path]);
      expect(r.code, `${c.file}: ${r.out}`).toBe(0);
      const got = received.get(c.ts);
      expect(got, c.file).toBeDefined();
      let expected = await datasetOfFile(path);
      // The deflated stream is padded with one NUL to even length on the
      // wire (PS3.5 A.5: the data set is padded to even length); the padding
      // is the peer's, and we keep it as received.
      if (c.ts === "1.2.840.10008.1.2.1.99" && expected.length % 2 === 1) expected = Buffer.concat([expected, Buffer.alloc(1)]);
      expect(got!.bytes.length, c.file).toBe(expected.length);
      expect(got!.bytes.equals(expected), c.file).toBe(true);
    }
  }, 60_000);

  it("a handler that throws yields 0x0110, never Success", async () => {
    const { port } = await start({
      store: async () => {
        throw new Error("disk full");
      },
    });
    const r = await dcmtk("storescu", ["-v", "-R", "-xb", "-aec", "EDGE", "127.0.0.1", String(port), `${SAMPLES}/MR_small_bigendian.dcm`]);
    expect(r.out).toMatch(/Received Store Response \(Unknown Status: 0x110\)/);
  });

  it("a handler that returns without reading: the rest is drained and the association goes on", async () => {
    let calls = 0;
    const { port } = await start({ store: async () => (calls++, { status: 0 }) });
    const r = await dcmtk("storescu", ["-R", "-xb", "-aec", "EDGE", "127.0.0.1", String(port), `${SAMPLES}/MR_small_bigendian.dcm`, `${SAMPLES}/CT_small.dcm`]);
    expect(r.code, r.out).toBe(0);
    expect(calls).toBe(2);
  });

  it("serves several associations at once", async () => {
    let active = 0;
    let peak = 0;
    const { port } = await start({
      store: async (ctx) => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 300));
        for await (const _ of ctx.dataset);
        active--;
        return { status: 0 };
      },
    });
    const results = await Promise.all(
      [1, 2, 3].map(() => dcmtk("storescu", ["-R", "-xb", "-aec", "EDGE", "127.0.0.1", String(port), `${SAMPLES}/MR_small_bigendian.dcm`])),
    );
    for (const r of results) expect(r.code, r.out).toBe(0);
    expect(peak).toBe(3);
  });

  it("storescu of a 100 MB instance streams through bounded memory", async () => {
    const big = join(dir, "big.dcm");
    // 100 MB of 16-bit pixels; Explicit VR Little Endian, no compression.
    const py = await run("/usr/bin/python3", [
      "-c",
      `
import sys
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
m = FileMetaDataset(); m.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"; m.MediaStorageSOPInstanceUID = generate_uid(); m.TransferSyntaxUID = ExplicitVRLittleEndian
ds = Dataset(); ds.file_meta = m; ds.is_little_endian = True; ds.is_implicit_VR = False
ds.SOPClassUID = m.MediaStorageSOPClassUID; ds.SOPInstanceUID = m.MediaStorageSOPInstanceUID; ds.PatientName = "Big^Test"
ds.Rows = 5000; ds.Columns = 10000; ds.BitsAllocated = 16; ds.BitsStored = 16; ds.HighBit = 15; ds.PixelRepresentation = 0; ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = "MONOCHROME2"
ds.PixelData = bytes(range(256)) * (5000 * 10000 * 2 // 256)
ds.save_as(sys.argv[1], write_like_original=False)
`,
      big,
    ]);
    expect(py.stderr).toBe("");
    let bytes = 0;
    const hash = createHash("sha256");
    const { port } = await start({
      store: async (ctx) => {
        for await (const c of ctx.dataset) {
          bytes += c.length;
          hash.update(c);
        }
        return { status: 0 };
      },
    });
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const t0 = Date.now();
    const r = await dcmtk("storescu", ["-R", "-xe", "-pdu", "131072", "-aec", "EDGE", "127.0.0.1", String(port), big]);
    clearInterval(sampler);
    const ms = Date.now() - t0;
    expect(r.code, r.out).toBe(0);
    const expected = await datasetOfFile(big);
    expect(bytes).toBe(expected.length);
    expect(hash.digest("hex")).toBe(createHash("sha256").update(expected).digest("hex"));
    const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
    // Printed, not asserted: RSS includes the test's own reading of the file above only after the transfer.
    console.log(`100 MB C-STORE: ${ms} ms, RSS baseline ${mb(baseline)} MiB, peak during transfer ${mb(peak)} MiB (+${mb(peak - baseline)} MiB)`);
  }, 120_000);
});
