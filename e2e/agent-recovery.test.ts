import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startAgent, type Agent } from "./agent";
import { corpus, type ManifestEntry } from "./data/corpus";
import { asDcmtkSends, datasetOf, dcmtk } from "./dcmtk";
import { get, parts } from "./dicomweb";
import { startStack, type Stack } from "./stack";

// These tests crash the edge or the agent, so they run on a stack of their own.
let stack: Stack | undefined;
let agent: Agent | undefined;
let spoolDir: string | undefined;
let scratch: string;
let ct: (ManifestEntry & { sent: string })[];
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "dicom-edge-sent-"));
  ct = (await corpus()).files.filter((f) => f.group === "ct").map((f) => ({ ...f, sent: asDcmtkSends(f, scratch) }));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));
afterEach(async () => {
  await agent?.stop();
  await stack?.stop();
  if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
  agent = stack = spoolDir = undefined;
});

/** storescu with -v, started now; resolves with the files that got Success. */
function storescu(port: number, files: { sent: string }[]): { done: Promise<Set<string>>; sent: () => number } {
  const child = spawn("storescu", ["-v", "-nh", "-aec", "DICOMEDGE", "127.0.0.1", String(port), ...files.map((f) => f.sent)], {
    env: { ...process.env, TCP_NODELAY: "1" },
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const done = new Promise<Set<string>>((resolve) =>
    child.on("exit", () => {
      // storescu -v: "Sending file: <path>" ... "Received Store Response (Success)" for each file.
      const succeeded = new Set<string>();
      let current: string | undefined;
      for (const line of output.split("\n")) {
        const sending = /Sending file: (.+)$/.exec(line);
        if (sending) current = sending[1]!.trim();
        if (current && /Received Store Response \(Success\)/.test(line)) succeeded.add(current);
      }
      resolve(succeeded);
    }),
  );
  return { done, sent: () => (output.match(/Sending file:/g) ?? []).length };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every file that got Success is stored and identical; every stored one is whole. */
async function checkStored(base: string, files: (ManifestEntry & { sent: string })[], succeeded: Set<string>): Promise<number> {
  let stored = 0;
  for (const f of files) {
    const res = await get(`${base}/dicomweb/studies/${f.studyInstanceUid}/series/${f.seriesInstanceUid}/instances/${f.sopInstanceUid}`);
    if (res.status === 404) {
      expect(succeeded.has(f.sent), `${f.path} got Success but is not stored`).toBe(false);
      continue;
    }
    expect(res.status).toBe(200);
    const [part] = await parts(res);
    const original = datasetOf(new Uint8Array(await readFile(f.sent)));
    expect(Buffer.from(datasetOf(part!.bytes)).equals(Buffer.from(original)), f.path).toBe(true);
    stored++;
  }
  const studies = (await (await get(`${base}/dicomweb/studies?StudyInstanceUID=${files[0]!.studyInstanceUid}`)).json()) as Record<string, { Value: number[] }>[];
  // One row per SOP Instance: the count the index keeps is the count found.
  expect(studies[0]?.["00201208"]?.Value[0] ?? 0).toBe(stored);
  return stored;
}

describe("nothing lost, nothing doubled", () => {
  it("edge ack mode: the edge killed mid-run and restarted", { timeout: 300_000 }, async () => {
    stack = await startStack();
    agent = await startAgent({ base: stack.base, id: "e2e" });
    const run = storescu(agent.port, ct);
    await until(() => run.sent() >= 40, 60_000);
    await stack.kill();
    // With the edge gone, C-ECHO fails with a status instead of hanging.
    const echo = await dcmtk("echoscu", ["-v", "-aec", "DICOMEDGE", "127.0.0.1", String(agent.port)], 30_000);
    expect(echo.output).toMatch(/Received Echo Response \(.*0x0?110\)/);
    stack = await stack.restart();
    const succeeded = await run.done;
    expect(succeeded.size).toBeGreaterThanOrEqual(30);
    expect(succeeded.size).toBeLessThan(ct.length);
    const stored = await checkStored(stack.base, ct, succeeded);
    expect(stored).toBeGreaterThanOrEqual(succeeded.size);
  });

  it("spool mode: the agent killed mid-run and restarted drains what it acknowledged", { timeout: 300_000 }, async () => {
    stack = await startStack();
    spoolDir = await mkdtemp(join(tmpdir(), "dicom-edge-spool-"));
    agent = await startAgent({ base: stack.base, id: "e2e-spool", ackMode: "spool", spoolDir });
    const run = storescu(agent.port, ct);
    await until(() => run.sent() >= 60, 60_000);
    await agent.kill();
    const succeeded = await run.done;
    expect(succeeded.size).toBeGreaterThanOrEqual(50);
    expect(succeeded.size).toBeLessThan(ct.length);
    agent = await startAgent({ base: stack.base, id: "e2e-spool", ackMode: "spool", spoolDir, port: agent.port });
    const countStored = async () => {
      const res = await get(`${stack!.base}/dicomweb/studies?StudyInstanceUID=${ct[0]!.studyInstanceUid}`);
      const [study] = (await res.json()) as Record<string, { Value: number[] }>[];
      return study?.["00201208"]?.Value[0] ?? 0;
    };
    await until(async () => (await countStored()) >= succeeded.size, 120_000);
    const stored = await checkStored(stack.base, ct, succeeded);
    // An instance spooled but killed before its response went out is stored too, whole.
    expect(stored).toBeGreaterThanOrEqual(succeeded.size);
    expect(stored).toBeLessThanOrEqual(run.sent());
  });
});
