import { concat, encodePart10 } from "@dicom-edge/shared/dicom/testing/encode";
import { describe, expect, it } from "vitest";
import { BackendUnavailable } from "../backend";
import { upstreamDataset, upstreamInstances } from "./instances";
import { Upstream } from "./upstream";

const CT = "1.2.840.10008.5.1.4.1.1.2";
const STUDY = "1.2.3";
const SERIES = "1.2.3.4";
const EXPLICIT = "1.2.840.10008.1.2.1";
const IMPLICIT = "1.2.840.10008.1.2";

interface Stored {
  sop: string;
  bytes: Uint8Array;
}

function stored(sop: string, syntax: string): Stored {
  const elements = [
    { tag: 0x00080016, vr: "UI", value: CT },
    { tag: 0x00080018, vr: "UI", value: sop },
    { tag: 0x7fe00010, vr: "OW", value: Uint8Array.from({ length: 3000 }, (_, i) => i & 0xff) },
  ];
  return { sop, bytes: encodePart10({ transferSyntaxUID: syntax, sopClassUID: CT, sopInstanceUID: sop, elements }) };
}

function datasetOffsetOf(bytes: Uint8Array): number {
  return 144 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(140, true);
}

/**
 * An upstream DICOMweb server in memory: instance-level QIDO-RS of one
 * series with limit and offset, WADO-RS of an instance as one part. `cut`
 * breaks a WADO-RS body off after its first bytes.
 */
function upstreamOf(instances: Stored[], options: { partLengths?: boolean; cut?: string } = {}) {
  const requests: URL[] = [];
  const fetcher = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    requests.push(url);
    const path = url.pathname.replace("/dicom-web", "");
    if (path === `/studies/${STUDY}/instances` || path === `/studies/${STUDY}/series/${SERIES}/instances`) {
      const limit = Number(url.searchParams.get("limit"));
      const offset = Number(url.searchParams.get("offset"));
      const wanted = url.searchParams.get("SOPInstanceUID");
      const page = instances.filter((i) => !wanted || i.sop === wanted).slice(offset, offset + limit);
      // Orthanc's answer: the UIDs and the SOP Class, no transfer syntax.
      return Response.json(page.map((i) => ({ "0020000E": { vr: "UI", Value: [SERIES] }, "00080018": { vr: "UI", Value: [i.sop] }, "00080016": { vr: "UI", Value: [CT] } })));
    }
    const sop = /^\/studies\/[\d.]+\/series\/[\d.]+\/instances\/([\d.]+)$/.exec(path)?.[1];
    const instance = instances.find((i) => i.sop === sop);
    if (!instance) return new Response("not found", { status: 404 });
    const encoder = new TextEncoder();
    const head = encoder.encode(`--B\r\nContent-Type: application/dicom\r\n${options.partLengths === false ? "" : `Content-Length: ${instance.bytes.length}\r\n`}\r\n`);
    const whole = concat([head, instance.bytes, encoder.encode("\r\n--B--")]);
    let at = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= whole.length) return controller.close();
        if (options.cut === sop && at >= 2000) return controller.error(new Error("connection reset"));
        controller.enqueue(whole.slice(at, (at += 1000)));
      },
    });
    return new Response(body, { headers: { "Content-Type": 'multipart/related; type="application/dicom"; boundary=B' } });
  };
  return { upstream: new Upstream({ base: "https://upstream.example/dicom-web", auth: { kind: "none" }, timeoutMs: 5000 }, undefined, fetcher), requests };
}

async function bytesOf(body: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  for await (const piece of body) pieces.push(piece);
  return concat(pieces);
}

describe("upstreamInstances", () => {
  it("lists a study by QIDO-RS and takes each instance's syntax and layout from its File Meta group", async () => {
    const instances = [stored("1.2.3.4.1", EXPLICIT), stored("1.2.3.4.2", IMPLICIT)];
    const { upstream } = upstreamOf(instances);
    const found = await upstreamInstances(upstream, { study: STUDY });
    expect(found).toEqual(
      instances.map((i, n) => ({
        study: STUDY,
        series: SERIES,
        sop: i.sop,
        sopClass: CT,
        transferSyntax: [EXPLICIT, IMPLICIT][n],
        size: i.bytes.length,
        datasetOffset: datasetOffsetOf(i.bytes),
        numberOfFrames: null,
        frames: null,
        bulk: {},
        ref: `/studies/${STUDY}/series/${SERIES}/instances/${i.sop}`,
      })),
    );
  });

  it("reads every page of the search, and counts a part's bytes when the upstream gives no Content-Length", async () => {
    const instances = Array.from({ length: 502 }, (_, n) => stored(`1.2.3.4.${n + 1}`, EXPLICIT));
    const { upstream, requests } = upstreamOf(instances, { partLengths: false });
    const found = await upstreamInstances(upstream, { study: STUDY, series: SERIES });
    expect(found.map((i) => i.sop)).toEqual(instances.map((i) => i.sop));
    expect(found.every((i, n) => i.size === instances[n]!.bytes.length)).toBe(true);
    expect(requests.filter((r) => r.pathname.endsWith("/instances")).map((r) => r.searchParams.get("offset"))).toEqual(["0", "500"]);
  });

  it("names one instance by SOPInstanceUID; a 5xx is BackendUnavailable", async () => {
    const instances = [stored("1.2.3.4.1", EXPLICIT), stored("1.2.3.4.2", EXPLICIT)];
    const { upstream, requests } = upstreamOf(instances);
    expect((await upstreamInstances(upstream, { study: STUDY, series: SERIES, instance: "1.2.3.4.2" })).map((i) => i.sop)).toEqual(["1.2.3.4.2"]);
    expect(requests[0]!.searchParams.get("SOPInstanceUID")).toBe("1.2.3.4.2");
    const failing = new Upstream({ base: "https://upstream.example", auth: { kind: "none" }, timeoutMs: 5000 }, undefined, async () => new Response("down", { status: 503 }));
    await expect(upstreamInstances(failing, { study: STUDY })).rejects.toBeInstanceOf(BackendUnavailable);
  });
});

describe("upstreamDataset", () => {
  it("streams the data set after the File Meta group with its length; null for an instance the upstream does not have", async () => {
    const instance = stored("1.2.3.4.1", IMPLICIT);
    const { upstream } = upstreamOf([instance]);
    const uids = { study: STUDY, series: SERIES, sop: instance.sop };
    const dataset = await upstreamDataset(upstream, uids);
    expect(dataset!.length).toBe(instance.bytes.length - datasetOffsetOf(instance.bytes));
    expect(await bytesOf(dataset!.body)).toEqual(instance.bytes.subarray(datasetOffsetOf(instance.bytes)));
    expect(await upstreamDataset(upstream, { ...uids, sop: "1.2.3.4.9" })).toBeNull();
  });

  it("fails with BackendUnavailable when the upstream's answer breaks off, with or without a Content-Length", async () => {
    const instance = stored("1.2.3.4.1", EXPLICIT);
    for (const partLengths of [true, false]) {
      const { upstream } = upstreamOf([instance], { partLengths, cut: instance.sop });
      // Before the File Meta group ended (the open fails) or after it (the body errors): never a short data set.
      const failure = await upstreamDataset(upstream, { study: STUDY, series: SERIES, sop: instance.sop })
        .then((dataset) => bytesOf(dataset!.body))
        .catch((error: unknown) => error);
      expect(failure).toMatchObject({ httpStatus: 502 });
    }
  });
});
