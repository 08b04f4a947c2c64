// Checks of the test corpus itself: that the manifest tells the truth about
// the files the e2e tests will compare against, that generation is
// deterministic, and that the cache/lock never hands out a partial corpus.
// Uses small option sets so that it runs in seconds.

import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat, truncate, unlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { corpus, generateCorpus, readBytes, type CorpusOptions, type ManifestEntry } from "./corpus.ts";

const SMALL: CorpusOptions = { ct: 5, mr: 3, largeMb: 2, seed: 7 };
const UID_ROOT = "1.2.826.0.1.3680043.8.498.";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const byPath = (files: ManifestEntry[], path: string) => {
  const f = files.find((e) => e.path === path);
  if (!f) throw new Error(`${path} not in manifest`);
  return f;
};

const scratch: string[] = [];
afterAll(async () => {
  for (const d of scratch) await rm(d, { recursive: true, force: true });
});

describe("corpus", () => {
  it("manifest matches the files on disk", { timeout: 120_000 }, async () => {
    const { dir, files } = await corpus(SMALL);
    const groups = new Map<string, number>();
    for (const f of files) groups.set(f.group, (groups.get(f.group) ?? 0) + 1);
    expect(Object.fromEntries(groups)).toEqual({ ct: 5, mr: 3, multiframe: 3, large: 1, compressed: 9 });

    for (const f of files) {
      expect(f.absPath).toBe(join(dir, f.path));
      const bytes = await readBytes(f);
      expect(bytes.byteLength, f.path).toBe(f.size);
      expect((await stat(f.absPath)).size).toBe(f.size);
      expect(sha256(bytes), f.path).toBe(f.sha256);
      // Part 10: 128-byte preamble then "DICM".
      expect(Buffer.from(bytes.subarray(128, 132)).toString("latin1"), f.path).toBe("DICM");
      if (f.source === "generated") {
        for (const uid of [f.sopInstanceUid, f.seriesInstanceUid, f.studyInstanceUid]) {
          expect(uid.startsWith(UID_ROOT), uid).toBe(true);
          expect(uid.length).toBeLessThanOrEqual(64);
          expect(uid).toMatch(/^[0-9.]+$/);
        }
        // The manifest's own pixel geometry must add up to the file size.
        expect(f.pixelDataOffset! + f.numberOfFrames * f.frameSize!, f.path).toBe(f.size);
      }
    }

    const ct = files.filter((f) => f.group === "ct");
    expect(new Set(ct.map((f) => f.studyInstanceUid)).size).toBe(1);
    expect(new Set(ct.map((f) => f.seriesInstanceUid)).size).toBe(2);
    expect(ct.every((f) => f.transferSyntaxUid === "1.2.840.10008.1.2.1" && f.rows === 512)).toBe(true);
    const mr = files.filter((f) => f.group === "mr");
    expect(mr.every((f) => f.transferSyntaxUid === "1.2.840.10008.1.2")).toBe(true);
    expect(mr[0]!.studyInstanceUid).not.toBe(ct[0]!.studyInstanceUid);

    // Frame k of the 30-frame instance: every odd (high) byte is k + 1.
    const mf = byPath(files, "multiframe/mf_30frames.dcm");
    expect(mf.numberOfFrames).toBe(30);
    expect(mf.frameSize).toBe(128 * 128 * 2);
    const mfBytes = await readBytes(mf);
    for (let k = 0; k < 30; k++) {
      const frame = mfBytes.subarray(mf.pixelDataOffset! + k * mf.frameSize!, mf.pixelDataOffset! + (k + 1) * mf.frameSize!);
      expect(frame[1]).toBe(k + 1);
      expect(frame[frame.length - 1]).toBe(k + 1);
      expect(frame[2 * 300]).toBe(300 & 0xff);
    }

    expect(byPath(files, "multiframe/ct_bigendian.dcm").transferSyntaxUid).toBe("1.2.840.10008.1.2.2");
    const rgb = byPath(files, "multiframe/sc_rgb.dcm");
    expect([rgb.samplesPerPixel, rgb.frameSize]).toEqual([3, 64 * 64 * 3]);

    const large = byPath(files, "large/large.dcm");
    expect(large.numberOfFrames).toBe(4); // 2 MiB / 512 KiB frames
    expect(large.size).toBeGreaterThan(2 * 1024 * 1024);

    const ts = Object.fromEntries(files.filter((f) => f.group === "compressed").map((f) => [f.path, f.transferSyntaxUid]));
    expect(ts).toEqual({
      "compressed/JPEG-lossy.dcm": "1.2.840.10008.1.2.4.51",
      "compressed/JPEG2000.dcm": "1.2.840.10008.1.2.4.91",
      "compressed/MR_small_RLE.dcm": "1.2.840.10008.1.2.5",
      "compressed/MR_small_bigendian.dcm": "1.2.840.10008.1.2.2",
      "compressed/MR_small_jp2klossless.dcm": "1.2.840.10008.1.2.4.90",
      "compressed/MR_small_jpeg_ls_lossless.dcm": "1.2.840.10008.1.2.4.80",
      "compressed/SC_rgb_jpeg_dcmtk.dcm": "1.2.840.10008.1.2.4.50",
      "compressed/SC_rgb_rle_2frame.dcm": "1.2.840.10008.1.2.5",
      "compressed/image_dfl.dcm": "1.2.840.10008.1.2.1.99",
    });
  });

  it("same seed gives identical bytes, another seed other UIDs", { timeout: 120_000 }, async () => {
    const base = await mkdtemp(join(tmpdir(), "dicomedge-corpus-"));
    scratch.push(base);
    const opts: CorpusOptions = { ct: 3, mr: 2, largeMb: 1, seed: 11 };
    await generateCorpus(join(base, "a"), opts);
    await generateCorpus(join(base, "b"), opts);
    await generateCorpus(join(base, "c"), { ...opts, seed: 12 });
    const a = await readFile(join(base, "a", "manifest.json"), "utf8");
    const b = await readFile(join(base, "b", "manifest.json"), "utf8");
    expect(b).toBe(a);
    const files = JSON.parse(a).files as ManifestEntry[];
    const other = JSON.parse(await readFile(join(base, "c", "manifest.json"), "utf8")).files as ManifestEntry[];
    for (const f of files) {
      const g = other.find((e) => e.path === f.path)!;
      if (f.source === "generated") {
        expect(g.sopInstanceUid).not.toBe(f.sopInstanceUid);
        expect(g.sha256).not.toBe(f.sha256);
      } else {
        expect(g.sha256).toBe(f.sha256);
      }
    }
  });

  it("concurrent callers share one generation", { timeout: 120_000 }, async () => {
    const opts: CorpusOptions = { ct: 2, mr: 1, seed: 21 };
    const first = await corpus(opts);
    await rm(first.dir, { recursive: true, force: true });
    const results = await Promise.all([corpus(opts), corpus(opts), corpus(opts)]);
    expect(results.filter((r) => r.generated)).toHaveLength(1);
    for (const r of results) expect(r.files).toEqual(first.files);
    await expect(stat(`${first.dir}.lock`)).rejects.toThrow();
  });

  it("never reuses a partial corpus and breaks a stale lock", { timeout: 120_000 }, async () => {
    const opts: CorpusOptions = { ct: 2, mr: 1, seed: 22 };
    const { dir, files } = await corpus(opts);
    expect((await corpus(opts)).generated).toBe(false);

    await unlink(join(dir, "manifest.json"));
    expect((await corpus(opts)).generated).toBe(true);

    await truncate(byPath(files, "ct/CT_s1_0001.dcm").absPath, 1000);
    const again = await corpus(opts);
    expect(again.generated).toBe(true);
    expect(again.files).toEqual(files);

    // A lock left by a dead run 11 minutes ago must not block.
    await rm(dir, { recursive: true, force: true });
    const lock = `${dir}.lock`;
    await writeFile(lock, JSON.stringify({ pid: 2 ** 22 + 1, host: "elsewhere", token: "x" }));
    const old = new Date(Date.now() - 11 * 60_000);
    await utimes(lock, old, old);
    expect((await corpus(opts)).generated).toBe(true);
    await expect(stat(lock)).rejects.toThrow();
  });
});
