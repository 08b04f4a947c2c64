// Test corpus for the e2e tests and benchmarks: runs generate.py (pydicom)
// once per set of options into <repo>/.tmp/testdata/<key>/ and reuses it.
//
// The folder counts as complete only when manifest.json is there (the
// generator writes it last, via rename) and every file it lists has the
// listed size. Several vitest workers may ask for the same corpus at once:
// one takes <dir>.lock with an exclusive create and generates, the others
// poll until the lock is gone and then read the manifest.

import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { link, mkdir, open, readFile, rename, rm, stat, unlink, utimes } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export type CorpusGroup = "ct" | "mr" | "multiframe" | "large" | "compressed";

/** One file of manifest.json, plus absPath (added here, not in the JSON). */
export interface ManifestEntry {
  /** Relative to the corpus dir, forward slashes, e.g. "ct/CT_s1_0001.dcm". */
  path: string;
  absPath: string;
  group: CorpusGroup;
  /** "generated", or "pydicom:<file name>" for the copied sample files. */
  source: string;
  size: number;
  sha256: string;
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  transferSyntaxUid: string;
  /** 1 when the file has no NumberOfFrames. */
  numberOfFrames: number;
  rows: number | null;
  columns: number | null;
  samplesPerPixel: number;
  bitsAllocated: number | null;
  /** Bytes per frame of native (not encapsulated) pixel data, else null. */
  frameSize: number | null;
  /**
   * File offset of the Pixel Data value when the frames lie in the file
   * as-is (native, not deflated): frame k is
   * bytes[pixelDataOffset + k * frameSize, + frameSize). Else null.
   */
  pixelDataOffset: number | null;
}

export interface CorpusOptions {
  /** CT instances (default 200), one study split over two series. */
  ct?: number;
  /** MR instances (default 20). */
  mr?: number;
  /** Size of the one large streamed instance in MiB; 0 (default) = none. */
  largeMb?: number;
  /** Seed for UIDs, names and pixel patterns (default 1). */
  seed?: number;
}

export interface Corpus {
  dir: string;
  files: ManifestEntry[];
  /** True when this call ran generate.py rather than reusing the cache. */
  generated: boolean;
}

interface Manifest {
  version: number;
  options: Required<CorpusOptions>;
  files: Omit<ManifestEntry, "absPath">[];
}

const MANIFEST_VERSION = 1;
const DATA_DIR = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(DATA_DIR, "../..");
const GENERATOR = join(DATA_DIR, "generate.py");
export const CACHE_ROOT = join(REPO_ROOT, ".tmp", "testdata");
// Debian's interpreter, where python3-pydicom lives; a pyenv `python3` on
// PATH would not have it.
const PYTHON = process.env.DICOMEDGE_PYTHON ?? "/usr/bin/python3";

const STALE_LOCK_MS = 10 * 60_000;
const HEARTBEAT_MS = 30_000;
const POLL_MS = 200;
const WAIT_LIMIT_MS = 30 * 60_000;

function normalize(options: CorpusOptions = {}): Required<CorpusOptions> {
  const o = { ct: options.ct ?? 200, mr: options.mr ?? 20, largeMb: options.largeMb ?? 0, seed: options.seed ?? 1 };
  for (const [k, v] of Object.entries(o)) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`corpus: ${k} must be a number >= 0, got ${v}`);
  }
  if (!Number.isInteger(o.ct) || !Number.isInteger(o.mr) || !Number.isInteger(o.seed)) {
    throw new RangeError("corpus: ct, mr and seed must be integers");
  }
  return o;
}

let generatorHash: string | undefined;

/** The cache folder for these options. The generator's own hash is part of
 * the key, so editing generate.py never reuses a corpus it did not make. */
export function corpusDir(options: CorpusOptions = {}): string {
  const o = normalize(options);
  generatorHash ??= createHash("sha256").update(readFileSync(GENERATOR)).digest("hex");
  const key = createHash("sha256")
    .update(JSON.stringify([MANIFEST_VERSION, o.ct, o.mr, o.largeMb, o.seed, generatorHash]))
    .digest("hex")
    .slice(0, 12);
  return join(CACHE_ROOT, `ct${o.ct}-mr${o.mr}-large${o.largeMb}-seed${o.seed}-${key}`);
}

/** The corpus for `options`, generated on first use and cached across runs. */
export async function corpus(options: CorpusOptions = {}): Promise<Corpus> {
  const o = normalize(options);
  const dir = corpusDir(o);
  const lockPath = `${dir}.lock`;
  await mkdir(CACHE_ROOT, { recursive: true });

  const deadline = Date.now() + WAIT_LIMIT_MS;
  for (;;) {
    const ready = await loadComplete(dir, o);
    if (ready) return { dir, files: ready, generated: false };

    const lock = await tryLock(lockPath);
    if (lock) {
      try {
        // Someone may have finished between our check and the lock.
        const done = await loadComplete(dir, o);
        if (done) return { dir, files: done, generated: false };
        // Whatever is there is a half-written corpus: start clean.
        await rm(dir, { recursive: true, force: true });
        await generateCorpus(dir, o);
        const files = await loadComplete(dir, o);
        if (!files) throw new Error(`corpus: ${dir} is incomplete right after generate.py succeeded`);
        return { dir, files, generated: true };
      } finally {
        await lock.release();
      }
    }

    if (await lockIsStale(lockPath)) {
      await breakLock(lockPath);
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`corpus: waited ${WAIT_LIMIT_MS / 60_000} min for ${lockPath}; remove it if no generator runs`);
    }
    await sleep(POLL_MS);
  }
}

/** Reads a file of the corpus whole. The large instance is up to --large-mb
 * MiB: stream entry.absPath instead where that matters. */
export async function readBytes(entry: Pick<ManifestEntry, "absPath">): Promise<Uint8Array> {
  const buf = await readFile(entry.absPath);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Runs generate.py into `outDir` (must be empty or absent), no caching or
 * locking. corpus() is the normal entry point; this is for tests of the
 * generator itself (determinism). */
export async function generateCorpus(outDir: string, options: CorpusOptions = {}): Promise<void> {
  const o = normalize(options);
  const args = [GENERATOR, outDir, "--ct", `${o.ct}`, "--mr", `${o.mr}`, "--large-mb", `${o.largeMb}`, "--seed", `${o.seed}`];
  const stderr: Buffer[] = [];
  const code = await new Promise<number | null>((resolvePromise, reject) => {
    const child = spawn(PYTHON, args, { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", (err) => reject(new Error(`corpus: cannot run ${PYTHON}: ${err.message}`)));
    child.on("close", (exitCode) => resolvePromise(exitCode));
  });
  if (code !== 0) {
    const text = Buffer.concat(stderr).toString("utf8").trim();
    const hint = text.includes("No module named 'pydicom'") ? "\n(install it: apt-get install -y python3-pydicom)" : "";
    throw new Error(`corpus: ${PYTHON} generate.py exited ${code}:\n${text}${hint}`);
  }
}

async function loadComplete(dir: string, o: Required<CorpusOptions>): Promise<ManifestEntry[] | null> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as Manifest;
  } catch {
    return null;
  }
  const m = manifest.options;
  if (
    manifest.version !== MANIFEST_VERSION ||
    m.ct !== o.ct ||
    m.mr !== o.mr ||
    m.largeMb !== o.largeMb ||
    m.seed !== o.seed
  ) {
    return null;
  }
  // A size check per file catches a truncated or deleted file without
  // hashing a GiB on every call; the sha256 is there for the tests.
  const files: ManifestEntry[] = [];
  for (const f of manifest.files) {
    const absPath = join(dir, f.path);
    try {
      if ((await stat(absPath)).size !== f.size) return null;
    } catch {
      return null;
    }
    files.push({ ...f, absPath });
  }
  return files;
}

interface HeldLock {
  release(): Promise<void>;
}

async function tryLock(lockPath: string): Promise<HeldLock | null> {
  let handle;
  try {
    handle = await open(lockPath, "wx");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return null;
    throw err;
  }
  const token = randomBytes(8).toString("hex");
  try {
    await handle.writeFile(JSON.stringify({ pid: process.pid, host: hostname(), token }));
  } finally {
    await handle.close();
  }
  // Refresh the mtime so a long generation (a GiB-sized large instance on a
  // slow disk) is never taken for a stale lock by the waiters.
  const timer = setInterval(() => {
    const now = new Date();
    utimes(lockPath, now, now).catch(() => {});
  }, HEARTBEAT_MS);
  timer.unref();
  return {
    async release() {
      clearInterval(timer);
      // Only our own lock: had it been broken as stale, the file there now
      // belongs to another generator.
      const text = await readFile(lockPath, "utf8").catch(() => "");
      if (text.includes(token)) await unlink(lockPath).catch(() => {});
    },
  };
}

async function lockIsStale(lockPath: string): Promise<boolean> {
  let mtimeMs: number;
  let text: string;
  try {
    mtimeMs = (await stat(lockPath)).mtimeMs;
    text = await readFile(lockPath, "utf8");
  } catch {
    return false; // gone: the next round will take it
  }
  if (Date.now() - mtimeMs > STALE_LOCK_MS) return true;
  // A holder on this host that no longer exists (test run killed with
  // Ctrl-C) need not cost the next run ten minutes.
  try {
    const { pid, host } = JSON.parse(text) as { pid: number; host: string };
    if (host === hostname() && pid !== process.pid) {
      try {
        process.kill(pid, 0);
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === "ESRCH";
      }
    }
  } catch {
    // Empty or partly written: the holder is between create and write.
  }
  return false;
}

async function breakLock(lockPath: string): Promise<void> {
  // Rename, then look again: a slower waiter that also judged the old lock
  // stale may rename away the fresh lock a quicker waiter has just created.
  // That one is put back with link(), which never overwrites.
  const aside = `${lockPath}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await rename(lockPath, aside);
  } catch {
    return;
  }
  if (!(await lockIsStale(aside))) await link(aside, lockPath).catch(() => {});
  await unlink(aside).catch(() => {});
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
