import { env, SELF } from "cloudflare:test";
import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { encodePart10, type Element } from "@dicom-edge/shared/dicom/testing/encode";
import { PASS_THROUGH_SYNTAXES } from "@dicom-edge/shared/dicom/transfer-syntax";
import { type RetrieveItem, type RetrieveMeta, type RetrievePlan } from "@dicom-edge/shared/tunnel/retrieve";
import { jsonLines } from "@dicom-edge/shared/tunnel/json-lines";
import type { TunnelStream } from "@dicom-edge/shared/tunnel/session";
import { beforeAll, describe, expect, it } from "vitest";
import type { DimseOutcome } from "../src/agents/operations";
import { fetchOutcome, isRefusal, retrieveKeys, retrieveOutcome, retrievePlan, studyIdentifier, type RetrieveKeys } from "../src/agents/retrieve";
import { backendFor } from "../src/backends/select";
import { instance, multipart, STOW_TYPE } from "./instances";
import { servingTunnel } from "./serving-tunnel";

const CT = "1.2.840.10008.5.1.4.1.1.2";
const MR = "1.2.840.10008.5.1.4.1.1.4";
const EXPLICIT_LE = "1.2.840.10008.1.2.1";
const IMPLICIT_LE = "1.2.840.10008.1.2";

interface Spec {
  patient: string;
  study: string;
  series: string;
  sop: string;
  sopClass: string;
  syntax: string;
  /** Bytes of an OB private value, so that sizes differ. */
  filler: number;
}

// Two patients; P-1 has studies 8.1 (a CT series of two, an MR series in another syntax) and 8.2.
const SPECS: Spec[] = [
  { patient: "P-1", study: "8.1", series: "8.1.1", sop: "8.1.1.1", sopClass: CT, syntax: EXPLICIT_LE, filler: 10 },
  { patient: "P-1", study: "8.1", series: "8.1.1", sop: "8.1.1.2", sopClass: CT, syntax: EXPLICIT_LE, filler: 300 },
  { patient: "P-1", study: "8.1", series: "8.1.2", sop: "8.1.2.1", sopClass: MR, syntax: IMPLICIT_LE, filler: 20 },
  { patient: "P-1", study: "8.2", series: "8.2.1", sop: "8.2.1.1", sopClass: CT, syntax: EXPLICIT_LE, filler: 40 },
  { patient: "P-2", study: "8.3", series: "8.3.1", sop: "8.3.1.1", sopClass: MR, syntax: EXPLICIT_LE, filler: 50 },
];

function encode(s: Spec): Uint8Array {
  const elements: Element[] = [
    { tag: 0x00080016, vr: "UI", value: s.sopClass },
    { tag: 0x00080018, vr: "UI", value: s.sop },
    { tag: 0x00080060, vr: "CS", value: s.sopClass === CT ? "CT" : "MR" },
    { tag: 0x00090010, vr: "LO", value: "EDGE TEST" },
    { tag: 0x00091001, vr: "OB", value: new Uint8Array(s.filler).fill(7) },
    { tag: 0x00100010, vr: "PN", value: `Patient^${s.patient}` },
    { tag: 0x00100020, vr: "LO", value: s.patient },
    { tag: 0x0020000d, vr: "UI", value: s.study },
    { tag: 0x0020000e, vr: "UI", value: s.series },
    { tag: 0x00200013, vr: "IS", value: s.sop.slice(-1) },
  ];
  return encodePart10({ transferSyntaxUID: s.syntax, sopClassUID: s.sopClass, sopInstanceUID: s.sop, elements });
}

/** A multi-frame instance of ~2 MiB, to see fetch go through the credit window many times. */
const LARGE = instance({ study: "8.4", series: "8.4.1", sop: "8.4.1.1", rows: 512, columns: 512, frames: 4, patientId: "P-3" });

const FILES = new Map<string, Uint8Array>([...SPECS.map((s) => [s.sop, encode(s)] as const), ["8.4.1.1", LARGE]]);

/**
 * Where the data set starts, read from the file itself: 128 bytes of
 * preamble, "DICM", then the File Meta group, whose length is the value of
 * (0002,0000), a 12-byte explicit VR UL element (PS3.10 7.1).
 */
function datasetOffset(file: Uint8Array): number {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  expect(view.getUint32(132, true)).toBe(0x00000002); // (0002,0000)
  return 132 + 12 + view.getUint32(140, true);
}

const dataset = (sop: string) => {
  const file = FILES.get(sop)!;
  return file.subarray(datasetOffset(file));
};

beforeAll(async () => {
  const res = await SELF.fetch("http://edge.test/dicomweb/studies", { method: "POST", headers: { "Content-Type": STOW_TYPE() }, body: multipart([...FILES.values()]) });
  expect(res.status).toBe(200);
});

/** The edge serving `retrieve` and `fetch` streams over the archive, as AgentHub does. */
function tunnel(options: { pageSize?: number; agentCredit?: number } = {}) {
  return servingTunnel((stream, meta) => {
    const backend = backendFor(env);
    return meta.kind === "fetch" ? fetchOutcome(backend, stream, meta as never) : retrieveOutcome(backend, stream, meta as unknown as RetrieveMeta, options);
  }, options);
}

async function retrieve(identifier: DicomJson, model: "patient" | "study", options: { pageSize?: number } = {}) {
  const { agent } = tunnel(options);
  const stream = agent.open("retrieve", { model, callingAeTitle: "VIEWER" });
  await stream.write(new TextEncoder().encode(JSON.stringify(identifier)));
  await stream.end();
  const lines: unknown[] = [];
  for await (const line of jsonLines(stream.readable)) lines.push(line);
  const [plan, ...items] = lines as [RetrievePlan | undefined, ...RetrieveItem[]];
  return { plan, items, result: (await stream.result()) as DimseOutcome };
}

async function fetchBytes(meta: { study: string; series: string; sop: string; announceSyntax?: boolean }, agentCredit?: number) {
  const { agent, outcomes } = tunnel(agentCredit ? { agentCredit } : {});
  const stream = agent.open("fetch", meta);
  await stream.end();
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream.readable) chunks.push(chunk);
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return { bytes, result: (await stream.result()) as DimseOutcome, outcomes, chunks: chunks.length };
}

const level = (name: string) => ({ "00080052": { vr: "CS", Value: [name] } });
const pid = (...ids: string[]) => ({ "00100020": { vr: "LO", Value: ids } });
const studies = (...uids: string[]) => ({ "0020000D": { vr: "UI", Value: uids } });
const series = (...uids: string[]) => ({ "0020000E": { vr: "UI", Value: uids } });
const sops = (...uids: string[]) => ({ "00080018": { vr: "UI", Value: uids } });

/** The first index where two byte arrays differ, or -1. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}

const sizeOf = (sop: string) => dataset(sop).length;
const sopsOf = (items: RetrieveItem[]) => items.map((i) => i.sop).sort();

describe("retrieveKeys (the identifier rules, PS3.4 C.4.2.2.1)", () => {
  const keys = (identifier: DicomJson, model: "patient" | "study"): RetrieveKeys | { status: number; errorComment: string } => retrieveKeys(identifier, model);

  it("reads each level of both models", () => {
    expect(keys({ ...level("PATIENT"), ...pid(" P-1 ") }, "patient")).toEqual({ level: "patient", patient: "P-1" });
    expect(keys({ ...level("STUDY"), ...pid("P-1"), ...studies("1.2", "1.3", "1.2") }, "patient")).toEqual({ level: "study", patient: "P-1", studies: ["1.2", "1.3"] });
    expect(keys({ ...level("STUDY"), ...studies("1.2") }, "study")).toEqual({ level: "study", studies: ["1.2"] });
    expect(keys({ ...level("SERIES"), ...studies("1.2"), ...series("1.2.1", "1.2.2") }, "study")).toEqual({ level: "series", study: "1.2", series: ["1.2.1", "1.2.2"] });
    expect(keys({ ...level("IMAGE "), ...pid("P-1"), ...studies("1.2"), ...series("1.2.1"), ...sops("1.2.1.1\0", "1.2.1.2") }, "patient")).toEqual({
      level: "instance",
      patient: "P-1",
      study: "1.2",
      series: "1.2.1",
      sops: ["1.2.1.1", "1.2.1.2"],
    });
    // Study Root ignores a Patient ID; any other attribute is ignored too.
    expect(keys({ ...level("STUDY"), ...pid("X"), ...studies("1.2"), "00100010": { vr: "PN" } }, "study")).toEqual({ level: "study", studies: ["1.2"] });
    // Lower-case tags are still DICOM JSON tags.
    expect(keys({ "00080052": { vr: "CS", Value: ["SERIES"] }, "0020000d": { vr: "UI", Value: ["1.2"] }, "0020000e": { vr: "UI", Value: ["1.2.1"] } }, "study")).toMatchObject({ level: "series" });
  });

  it.each<[string, DicomJson, "patient" | "study", RegExp]>([
    ["no level", { ...studies("1.2") }, "study", /Level/],
    ["an unknown level", { ...level("WARD"), ...studies("1.2") }, "study", /Level/],
    ["two levels", { "00080052": { vr: "CS", Value: ["STUDY", "SERIES"] }, ...studies("1.2") }, "study", /Level/],
    ["PATIENT in Study Root", { ...level("PATIENT"), ...pid("P-1") }, "study", /Study Root has no PATIENT level/],
    ["Patient Root without Patient ID", { ...level("STUDY"), ...studies("1.2") }, "patient", /Patient ID \(0010,0020\) missing/],
    ["an empty Patient ID", { ...level("PATIENT"), "00100020": { vr: "LO" } }, "patient", /missing/],
    ["two Patient IDs", { ...level("PATIENT"), ...pid("P-1", "P-2") }, "patient", /single value/],
    ["a wild card Patient ID", { ...level("PATIENT"), ...pid("P-*") }, "patient", /wild cards/],
    ["STUDY without Study Instance UID", { ...level("STUDY") }, "study", /Study Instance UID \(0020,000D\) missing/],
    ["an empty Study Instance UID", { ...level("STUDY"), "0020000D": { vr: "UI", Value: [""] } }, "study", /missing/],
    ["SERIES with a list of studies", { ...level("SERIES"), ...studies("1.2", "1.3"), ...series("1.2.1") }, "study", /Study Instance UID .* single value/],
    ["SERIES without Series Instance UID", { ...level("SERIES"), ...studies("1.2") }, "study", /Series Instance UID \(0020,000E\) missing/],
    ["IMAGE with a list of series", { ...level("IMAGE"), ...studies("1.2"), ...series("1.2.1", "1.2.2"), ...sops("1.2.1.1") }, "study", /Series Instance UID .* single value/],
    ["IMAGE without SOP Instance UID", { ...level("IMAGE"), ...studies("1.2"), ...series("1.2.1") }, "study", /SOP Instance UID \(0008,0018\) missing/],
    ["an invalid UID", { ...level("STUDY"), ...studies("1.02") }, "study", /invalid UID "1.02"/],
    ["a UID holding a backslash", { ...level("STUDY"), ...studies("1.2\\1.3") }, "study", /invalid UID/],
    ["a UID beyond 64 characters", { ...level("STUDY"), ...studies(`1.${"2".repeat(63)}`) }, "study", /invalid UID/],
    ["a series key at STUDY level", { ...level("STUDY"), ...studies("1.2"), ...series("1.2.1") }, "study", /Series Instance UID .* not allowed at STUDY level/],
    ["a study key at PATIENT level", { ...level("PATIENT"), ...pid("P-1"), ...studies("1.2") }, "patient", /not allowed at PATIENT level/],
  ])("refuses %s with A900", (_, identifier, model, comment) => {
    const refusal = keys(identifier, model);
    expect(isRefusal(refusal)).toBe(true);
    if (!isRefusal(refusal)) return;
    expect(refusal.status).toBe(0xa900);
    expect(refusal.errorComment).toMatch(comment);
    expect(refusal.errorComment.length).toBeLessThanOrEqual(64);
  });

  it("builds the study search of Patient Root only", () => {
    expect(studyIdentifier({ level: "study", studies: ["1.2"] })).toBeUndefined();
    expect(studyIdentifier({ level: "patient", patient: "P-1" })).toEqual({ ...level("STUDY"), ...pid("P-1"), "0020000D": { vr: "UI" } });
    expect(studyIdentifier({ level: "series", patient: "P-1", study: "1.2", series: ["1.2.1"] })).toEqual({ ...level("STUDY"), ...pid("P-1"), ...studies("1.2") });
  });

  it("plans distinct contexts in first-seen order", () => {
    const item = (sop: string, sopClass: string, transferSyntax: string) => ({ study: "1", series: "1.1", sop, sopClass, transferSyntax, size: 1 });
    expect(retrievePlan([item("1", CT, EXPLICIT_LE), item("2", MR, IMPLICIT_LE), item("3", CT, EXPLICIT_LE), item("4", CT, IMPLICIT_LE)])).toEqual({
      count: 4,
      contexts: [
        [CT, EXPLICIT_LE],
        [MR, IMPLICIT_LE],
        [CT, IMPLICIT_LE],
      ],
    });
    expect(retrievePlan([])).toEqual({ count: 0, contexts: [] });
  });

  it("plans every pass-through syntax for a SOP Class whose instances come without one, after the known pairs", () => {
    const known = { study: "1", series: "1.1", sop: "1", sopClass: CT, transferSyntax: IMPLICIT_LE, size: 1 };
    const unknown = (sop: string, sopClass: string) => ({ study: "1", series: "1.1", sop, sopClass });
    const plan = retrievePlan([known, unknown("2", MR), unknown("3", CT), unknown("4", MR)]);
    expect(plan.count).toBe(4);
    expect(plan.contexts[0]).toEqual([CT, IMPLICIT_LE]);
    expect(plan.contexts.slice(1, 4)).toEqual([
      [MR, IMPLICIT_LE],
      [MR, EXPLICIT_LE],
      [CT, EXPLICIT_LE],
    ]);
    expect(plan.contexts).toHaveLength(1 + 2 * PASS_THROUGH_SYNTAXES.length - 1);
    expect(new Set(plan.contexts.map((pair) => pair.join(" "))).size).toBe(plan.contexts.length);
  });
});

describe("retrieve streams", () => {
  it("PATIENT level (Patient Root): every instance of the patient's studies, with plan, sizes and syntaxes", async () => {
    const { plan, items, result } = await retrieve({ ...level("PATIENT"), ...pid("P-1") }, "patient", { pageSize: 1 });
    expect(result).toEqual({ status: 0 });
    expect(plan!.count).toBe(4);
    expect(plan!.contexts).toHaveLength(2);
    expect(plan!.contexts).toEqual(expect.arrayContaining([[CT, EXPLICIT_LE], [MR, IMPLICIT_LE]]));
    expect(sopsOf(items)).toEqual(["8.1.1.1", "8.1.1.2", "8.1.2.1", "8.2.1.1"]);
    for (const item of items) {
      const spec = SPECS.find((s) => s.sop === item.sop)!;
      expect(item).toEqual({ study: spec.study, series: spec.series, sop: spec.sop, sopClass: spec.sopClass, transferSyntax: spec.syntax, size: sizeOf(spec.sop) });
    }
    // A series' instances come together, in instance order.
    const study81 = items.filter((i) => i.study === "8.1").map((i) => i.sop);
    expect(study81.indexOf("8.1.1.2") - study81.indexOf("8.1.1.1")).toBe(1);
  });

  it("STUDY level, both models: a list of studies, those of another patient absent in Patient Root", async () => {
    const studyRoot = await retrieve({ ...level("STUDY"), ...studies("8.1", "8.3", "9.9.9") }, "study");
    expect(studyRoot.result).toEqual({ status: 0 });
    expect(studyRoot.plan!.count).toBe(4);
    expect(sopsOf(studyRoot.items)).toEqual(["8.1.1.1", "8.1.1.2", "8.1.2.1", "8.3.1.1"]);
    expect(studyRoot.plan!.contexts).toEqual(expect.arrayContaining([[CT, EXPLICIT_LE], [MR, IMPLICIT_LE], [MR, EXPLICIT_LE]]));
    expect(studyRoot.plan!.contexts).toHaveLength(3);

    const patientRoot = await retrieve({ ...level("STUDY"), ...pid("P-1"), ...studies("8.1", "8.3", "8.2") }, "patient");
    expect(patientRoot.result).toEqual({ status: 0 });
    expect(sopsOf(patientRoot.items)).toEqual(["8.1.1.1", "8.1.1.2", "8.1.2.1", "8.2.1.1"]);
    expect(patientRoot.plan!.count).toBe(4);
  });

  it("SERIES level, both models: a list of series of one study", async () => {
    const studyRoot = await retrieve({ ...level("SERIES"), ...studies("8.1"), ...series("8.1.2", "8.1.1", "8.2.1") }, "study");
    expect(studyRoot.result).toEqual({ status: 0 });
    // In the order of the list; 8.2.1 is not a series of 8.1.
    expect(studyRoot.items.map((i) => i.sop)).toEqual(["8.1.2.1", "8.1.1.1", "8.1.1.2"]);
    expect(studyRoot.plan).toEqual({ count: 3, contexts: [[MR, IMPLICIT_LE], [CT, EXPLICIT_LE]] });

    const patientRoot = await retrieve({ ...level("SERIES"), ...pid("P-1"), ...studies("8.1"), ...series("8.1.1") }, "patient");
    expect(sopsOf(patientRoot.items)).toEqual(["8.1.1.1", "8.1.1.2"]);
  });

  it("IMAGE level, both models: a list of instances of one series", async () => {
    const studyRoot = await retrieve({ ...level("IMAGE"), ...studies("8.1"), ...series("8.1.1"), ...sops("8.1.1.2", "8.1.1.9") }, "study");
    expect(studyRoot.result).toEqual({ status: 0 });
    expect(studyRoot.plan).toEqual({ count: 1, contexts: [[CT, EXPLICIT_LE]] });
    expect(studyRoot.items).toEqual([{ study: "8.1", series: "8.1.1", sop: "8.1.1.2", sopClass: CT, transferSyntax: EXPLICIT_LE, size: sizeOf("8.1.1.2") }]);

    const patientRoot = await retrieve({ ...level("IMAGE"), ...pid("P-1"), ...studies("8.1"), ...series("8.1.1"), ...sops("8.1.1.1", "8.1.1.2") }, "patient");
    expect(sopsOf(patientRoot.items)).toEqual(["8.1.1.1", "8.1.1.2"]);
  });

  it("a Patient ID that does not own the study matches nothing, at every level below PATIENT", async () => {
    for (const identifier of [
      { ...level("STUDY"), ...pid("P-2"), ...studies("8.1") },
      { ...level("SERIES"), ...pid("P-2"), ...studies("8.1"), ...series("8.1.1") },
      { ...level("IMAGE"), ...pid("P-2"), ...studies("8.1"), ...series("8.1.1"), ...sops("8.1.1.1") },
      { ...level("PATIENT"), ...pid("P-1x") },
    ]) {
      expect(await retrieve(identifier, "patient")).toEqual({ plan: { count: 0, contexts: [] }, items: [], result: { status: 0 } });
    }
  });

  it("an empty match is a plan of zero and success", async () => {
    expect(await retrieve({ ...level("STUDY"), ...studies("9.9.9") }, "study")).toEqual({ plan: { count: 0, contexts: [] }, items: [], result: { status: 0 } });
    expect(await retrieve({ ...level("SERIES"), ...studies("8.1"), ...series("9.9") }, "study")).toEqual({ plan: { count: 0, contexts: [] }, items: [], result: { status: 0 } });
  });

  it("refusals come as a RESULT with no lines: A900 for the identifier, C000 for what is not JSON", async () => {
    for (const [identifier, model] of [
      [{ ...level("PATIENT"), ...pid("P-1") }, "study"],
      [{ ...level("WARD"), ...studies("8.1") }, "study"],
      [{ ...level("STUDY"), ...studies("8.1") }, "patient"],
      [{ ...level("SERIES"), ...studies("8.1", "8.2"), ...series("8.1.1") }, "study"],
      [{ ...level("IMAGE"), ...studies("8.1"), ...series("8.1.1") }, "study"],
      [{ ...level("STUDY"), ...studies("8.01") }, "study"],
    ] as const) {
      const { plan, items, result } = await retrieve(identifier, model);
      expect(plan).toBeUndefined();
      expect(items).toEqual([]);
      expect(result.status).toBe(0xa900);
      expect(result.errorComment!.length).toBeLessThanOrEqual(64);
    }

    const { agent } = tunnel();
    const stream = agent.open("retrieve", { model: "study" });
    await stream.write(new TextEncoder().encode("{ not json"));
    await stream.end();
    expect(await stream.result()).toMatchObject({ status: 0xc000 });

    const unknownModel = agent.open("retrieve", { model: "worklist" });
    await unknownModel.write(new TextEncoder().encode(JSON.stringify({ ...level("STUDY"), ...studies("8.1") })));
    await unknownModel.end();
    expect(await unknownModel.result()).toMatchObject({ status: 0xa900 });
  });

  it("stops quietly when the agent resets the stream", async () => {
    const { agent, outcomes } = tunnel();
    const stream: TunnelStream = agent.open("retrieve", { model: "study" });
    stream.reset("cancelled", "C-CANCEL");
    for (let i = 0; i < 50 && outcomes.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(outcomes).toEqual([undefined]);
  });
});

describe("fetch streams", () => {
  it("sends the stored data set: the Part-10 bytes without preamble and File Meta Information", async () => {
    for (const spec of SPECS) {
      const { bytes, result } = await fetchBytes({ study: spec.study, series: spec.series, sop: spec.sop });
      expect(result).toEqual({ status: 0 });
      expect(bytes).toEqual(dataset(spec.sop));
    }
  });

  it("streams a large object through a small credit window", async () => {
    const expected = dataset("8.4.1.1");
    expect(expected.length).toBeGreaterThan(2 << 20);
    const { bytes, result } = await fetchBytes({ study: "8.4", series: "8.4.1", sop: "8.4.1.1" }, 64 * 1024);
    expect(result).toEqual({ status: 0 });
    expect(bytes.length).toBe(expected.length);
    // toEqual on 2 MiB takes seconds.
    expect(firstDifference(bytes, expected)).toBe(-1);
  });

  it("opens with the syntax line when the agent asks for it (an item planned without one)", async () => {
    const spec = SPECS[2]!;
    const { bytes, result } = await fetchBytes({ study: spec.study, series: spec.series, sop: spec.sop, announceSyntax: true });
    expect(result).toEqual({ status: 0 });
    const newline = bytes.indexOf(0x0a);
    expect(JSON.parse(new TextDecoder().decode(bytes.subarray(0, newline)))).toEqual({ transferSyntax: IMPLICIT_LE });
    expect(bytes.subarray(newline + 1)).toEqual(dataset(spec.sop));
  });

  it("answers 0110 for an instance that is not stored", async () => {
    for (const meta of [
      { study: "8.1", series: "8.1.1", sop: "8.1.1.9" },
      { study: "8.1", series: "8.1.2", sop: "8.1.1.1" },
    ]) {
      const { bytes, result } = await fetchBytes(meta);
      expect(bytes.length).toBe(0);
      expect(result).toEqual({ status: 0x0110, errorComment: "instance no longer stored" });
    }
  });

  it("stops reading when the agent resets mid-way", async () => {
    const { agent, outcomes } = tunnel({ agentCredit: 64 * 1024 });
    const stream = agent.open("fetch", { study: "8.4", series: "8.4.1", sop: "8.4.1.1" });
    await stream.end();
    // Read nothing: the edge fills the window and waits for credit.
    for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 10));
    expect(outcomes).toEqual([]);
    stream.reset("cancelled", "C-CANCEL");
    for (let i = 0; i < 50 && outcomes.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(outcomes).toEqual([undefined]);
  });
});
