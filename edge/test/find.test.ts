import { env, SELF } from "cloudflare:test";
import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import { encodePart10, type Element } from "@dicom-edge/shared/dicom/testing/encode";
import type { TunnelStream } from "@dicom-edge/shared/tunnel/session";
import { beforeAll, describe, expect, it } from "vitest";
import { findOutcome, type FindMeta } from "../src/agents/find";
import { backendFor } from "../src/backends/select";
import { multipart, STOW_TYPE } from "./instances";
import { servingTunnel } from "./serving-tunnel";

const CT = "1.2.840.10008.5.1.4.1.1.2";
const MR = "1.2.840.10008.5.1.4.1.1.4";

interface Spec {
  patient: [name: string, id: string];
  study: string;
  date: string;
  series: string;
  modality: string;
  sop: string;
  sopClass: string;
}

const SPECS: Spec[] = [
  { patient: ["Müller^Hans", "F-1"], study: "7.1", date: "20240115", series: "7.1.1", modality: "CT", sop: "7.1.1.1", sopClass: CT },
  { patient: ["Müller^Hans", "F-1"], study: "7.1", date: "20240115", series: "7.1.1", modality: "CT", sop: "7.1.1.2", sopClass: CT },
  { patient: ["Müller^Hans", "F-1"], study: "7.1", date: "20240115", series: "7.1.2", modality: "MR", sop: "7.1.2.1", sopClass: MR },
  { patient: ["Müller^Hans", "F-1"], study: "7.2", date: "20230601", series: "7.2.1", modality: "CT", sop: "7.2.1.1", sopClass: CT },
  { patient: ["Doe^Jane", "F-2"], study: "7.3", date: "20240220", series: "7.3.1", modality: "MR", sop: "7.3.1.1", sopClass: MR },
];

function encode(s: Spec): Uint8Array {
  const elements: Element[] = [
    { tag: 0x00080005, vr: "CS", value: "ISO_IR 192" },
    { tag: 0x00080016, vr: "UI", value: s.sopClass },
    { tag: 0x00080018, vr: "UI", value: s.sop },
    { tag: 0x00080020, vr: "DA", value: s.date },
    { tag: 0x00080060, vr: "CS", value: s.modality },
    { tag: 0x00100010, vr: "PN", value: s.patient[0] },
    { tag: 0x00100020, vr: "LO", value: s.patient[1] },
    { tag: 0x0020000d, vr: "UI", value: s.study },
    { tag: 0x0020000e, vr: "UI", value: s.series },
    { tag: 0x00200013, vr: "IS", value: "1" },
  ];
  return encodePart10({ transferSyntaxUID: "1.2.840.10008.1.2.1", sopClassUID: s.sopClass, sopInstanceUID: s.sop, elements });
}

beforeAll(async () => {
  const res = await SELF.fetch("http://edge.test/dicomweb/studies", { method: "POST", headers: { "Content-Type": STOW_TYPE() }, body: multipart(SPECS.map(encode)) });
  expect(res.status).toBe(200);
});

/** The edge serving `find` streams with findOutcome over the archive, as AgentHub does. */
function tunnel(options: { pageSize?: number; agentCredit?: number } = {}) {
  return servingTunnel((stream, meta) => findOutcome(backendFor(env), stream, meta as FindMeta, options), options);
}

async function find(identifier: DicomJson, meta: FindMeta = { model: "study" }, options: { pageSize?: number } = {}): Promise<{ matches: DicomJson[]; result: unknown }> {
  const { agent } = tunnel(options);
  const stream = agent.open("find", { ...meta, callingAeTitle: "MODALITY" });
  await stream.write(new TextEncoder().encode(JSON.stringify(identifier)));
  await stream.end();
  const matches = await lines(stream);
  return { matches, result: await stream.result() };
}

async function lines(stream: TunnelStream): Promise<DicomJson[]> {
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream.readable) text += decoder.decode(chunk, { stream: true });
  expect(text === "" || text.endsWith("\n")).toBe(true);
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as DicomJson);
}

const value = (ds: DicomJson, tag: string) => ds[tag]?.Value?.[0];

describe("find streams", () => {
  it("STUDY level: matches by wild card and date range, the requested keys only", async () => {
    const { matches, result } = await find({
      "00080052": { vr: "CS", Value: ["STUDY"] },
      "00100010": { vr: "PN", Value: [{ Alphabetic: "Mül*" }] },
      "00080020": { vr: "DA", Value: ["20240101-"] },
      "0020000D": { vr: "UI" },
      "00201208": { vr: "IS" },
      "00081030": { vr: "LO" },
    });
    expect(result).toEqual({ status: 0 });
    expect(matches).toEqual([
      {
        "00080005": { vr: "CS", Value: ["ISO_IR 192"] },
        "00080020": { vr: "DA", Value: ["20240115"] },
        "00080052": { vr: "CS", Value: ["STUDY"] },
        "00081030": { vr: "LO" },
        "00100010": { vr: "PN", Value: [{ Alphabetic: "Müller^Hans" }] },
        "0020000D": { vr: "UI", Value: ["7.1"] },
        "00201208": { vr: "IS", Value: [3] },
      },
    ]);
  });

  it("PATIENT level (Patient Root): one match per patient with related counts", async () => {
    const { matches, result } = await find(
      {
        "00080052": { vr: "CS", Value: ["PATIENT"] },
        "00100020": { vr: "LO", Value: ["F-*"] },
        "00100010": { vr: "PN" },
        "00201200": { vr: "IS" },
        "00201202": { vr: "IS" },
        "00201204": { vr: "IS" },
      },
      { model: "patient" },
    );
    expect(result).toEqual({ status: 0 });
    const byId = Object.fromEntries(matches.map((m) => [value(m, "00100020") as string, m]));
    expect(Object.keys(byId).sort()).toEqual(["F-1", "F-2"]);
    expect(byId["F-1"]).toMatchObject({
      "00080052": { vr: "CS", Value: ["PATIENT"] },
      "00100010": { vr: "PN", Value: [{ Alphabetic: "Müller^Hans" }] },
      "00201200": { vr: "IS", Value: [2] },
      "00201202": { vr: "IS", Value: [3] },
      "00201204": { vr: "IS", Value: [4] },
    });
    expect(byId["F-2"]).toMatchObject({ "00201200": { Value: [1] }, "00201204": { Value: [1] } });
  });

  it("Study Root has no PATIENT level, and bad identifiers are A900 or Cxxx", async () => {
    expect((await find({ "00080052": { vr: "CS", Value: ["PATIENT"] } }, { model: "study" })).result).toMatchObject({ status: 0xa900 });
    expect((await find({ "00080052": { vr: "CS", Value: ["WARD"] } })).result).toMatchObject({ status: 0xa900 });
    expect((await find({ "00080052": { vr: "CS", Value: ["STUDY"] }, "00080020": { vr: "DA", Value: ["2024-01-01"] } })).result).toMatchObject({ status: 0xa900 });

    const { agent } = tunnel();
    const stream = agent.open("find", { model: "study" });
    await stream.write(new TextEncoder().encode("[1, 2"));
    await stream.end();
    expect(await stream.result()).toMatchObject({ status: 0xc000 });
  });

  it("IMAGE level pages through the index and carries SOP Class and Instance UIDs", async () => {
    const { matches, result } = await find(
      { "00080052": { vr: "CS", Value: ["IMAGE"] }, "0020000D": { vr: "UI", Value: ["7.1"] }, "00080018": { vr: "UI" } },
      { model: "study" },
      { pageSize: 1 },
    );
    expect(result).toEqual({ status: 0 });
    expect(matches.map((m) => value(m, "00080018")).sort()).toEqual(["7.1.1.1", "7.1.1.2", "7.1.2.1"]);
    for (const m of matches) {
      expect(value(m, "00080016")).toBe(m["00080018"]!.Value![0] === "7.1.2.1" ? MR : CT);
      expect(value(m, "00080052")).toBe("IMAGE");
    }
  });

  it("stops searching when the agent resets the stream (C-CANCEL)", async () => {
    // A window smaller than one match: the edge waits for credit the agent never grants.
    const { agent, outcomes } = tunnel({ pageSize: 1, agentCredit: 64 });
    const stream = agent.open("find", { model: "study" });
    await stream.write(new TextEncoder().encode(JSON.stringify({ "00080052": { vr: "CS", Value: ["IMAGE"] }, "00080018": { vr: "UI" } })));
    await stream.end();
    for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 10));
    expect(outcomes).toEqual([]);
    stream.reset("cancelled", "C-CANCEL");
    for (let i = 0; i < 50 && outcomes.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(outcomes).toEqual([undefined]);
  });
});
