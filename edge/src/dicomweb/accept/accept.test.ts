import { describe, expect, it } from "vitest";
import { withDicomwebClient } from "../multipart/dicomweb-client-harness.ts";
import { acceptFrom, negotiate, negotiateRequest, parseAccept, type Offer } from "./accept.ts";

const EXPLICIT_LE = "1.2.840.10008.1.2.1";
const JPEG_BASELINE = "1.2.840.10008.1.2.4.50";
const JPEG_LOSSLESS = "1.2.840.10008.1.2.4.70";

/** An instance stored as JPEG Baseline, which this archive sends as stored. */
const instance: Offer[] = [{ mediaType: "multipart/related", partType: "application/dicom", transferSyntax: JPEG_BASELINE }];
/** Frames of an uncompressed instance, also offered as JPEG. */
const frames: Offer[] = [
  { mediaType: "multipart/related", partType: "application/octet-stream", transferSyntax: EXPLICIT_LE },
  { mediaType: "multipart/related", partType: "image/jpeg", transferSyntax: JPEG_BASELINE },
];
const metadata: Offer[] = [
  { mediaType: "application/dicom+json" },
  { mediaType: "multipart/related", partType: "application/dicom+xml" },
];
const rendered: Offer[] = [{ mediaType: "image/jpeg" }, { mediaType: "image/png" }, { mediaType: "image/gif" }];

describe("parseAccept", () => {
  it("orders by q, then specificity, then as given", () => {
    const ranges = parseAccept("text/*;q=0.5, */*;q=0.1, image/png, image/*, image/jpeg;q=0.5, application/json");
    expect(ranges.map((r) => `${r.type}/${r.subtype};${r.q}`)).toEqual([
      "image/png;1",
      "application/json;1",
      "image/*;1",
      "image/jpeg;0.5",
      "text/*;0.5",
      "*/*;0.1",
    ]);
  });

  it("keeps the order given among types, whatever their parameters", () => {
    const ranges = parseAccept('multipart/related, multipart/related; type="application/dicom"');
    expect(ranges.map((r) => r.params)).toEqual([{}, { type: "application/dicom" }]);
  });

  it("keeps commas and semicolons inside quoted parameter values", () => {
    const ranges = parseAccept(
      'multipart/related; type="application/dicom; transfer-syntax=1.2.840.10008.1.2.4.70"; q=0.9, application/x-a; note="a, b", image/jpeg',
    );
    expect(ranges).toEqual([
      { type: "application", subtype: "x-a", params: { note: "a, b" }, q: 1 },
      { type: "image", subtype: "jpeg", params: {}, q: 1 },
      {
        type: "multipart",
        subtype: "related",
        params: { type: "application/dicom; transfer-syntax=1.2.840.10008.1.2.4.70" },
        q: 0.9,
      },
    ]);
  });

  it("reads transfer-syntax and charset parameters and drops malformed ranges", () => {
    expect(
      parseAccept("application/dicom+json; charset=UTF-8, garbage, */html, a/b;q=2, a/c;q=0.001, application/dicom; transfer-syntax=*"),
    ).toEqual([
      { type: "application", subtype: "dicom+json", params: { charset: "UTF-8" }, q: 1 },
      { type: "application", subtype: "dicom", params: { "transfer-syntax": "*" }, q: 1 },
      { type: "a", subtype: "c", params: {}, q: 0.001 },
    ]);
    expect(parseAccept(null)).toEqual([]);
    expect(parseAccept(" , ")).toEqual([]);
  });
});

describe("negotiate", () => {
  it("gives the first offer without an Accept value, or for */*", () => {
    for (const accept of [null, undefined, "", "*/*", "*/*;q=0.8", "not a media type"]) {
      expect(negotiate(accept, instance)).toEqual({ offer: instance[0], transferSyntax: JPEG_BASELINE });
      expect(negotiate(accept, metadata)).toEqual({ offer: metadata[0] });
    }
    expect(negotiate("*/*", [])).toBeUndefined();
  });

  it("serves Orthanc's instance request: type quoted, transfer-syntax=*", () => {
    expect(negotiate('multipart/related; type="application/dicom"; transfer-syntax=*', instance)).toEqual({
      offer: instance[0],
      transferSyntax: JPEG_BASELINE,
    });
  });

  it("serves OHIF's frame request: type unquoted application/octet-stream, transfer-syntax=*", () => {
    expect(negotiate("multipart/related; type=application/octet-stream; transfer-syntax=*", frames)).toEqual({
      offer: frames[0],
      transferSyntax: EXPLICIT_LE,
    });
  });

  it("serves OHIF's metadata and QIDO requests", () => {
    expect(negotiate("application/dicom+json", metadata)).toEqual({ offer: metadata[0] });
    expect(negotiate("application/dicom+json, multipart/related; type=application/dicom+xml", metadata)).toEqual({
      offer: metadata[0],
    });
  });

  it("serves what dicomweb-client sends for instances, frames and metadata", async () => {
    const ids = { studyInstanceUID: "1.2", seriesInstanceUID: "1.2.3", sopInstanceUID: "1.2.3.4" };
    const forInstance = await withDicomwebClient((client, request) =>
      client.retrieveInstance({ ...ids, request }).catch(() => undefined),
    );
    // 0.11.3 leaves transfer-syntax out; other versions send transfer-syntax=*.
    expect(forInstance.sent.headers["accept"]).toBe('multipart/related; type="application/dicom"');
    expect(negotiate(forInstance.sent.headers["accept"], instance)?.transferSyntax).toBe(JPEG_BASELINE);
    expect(negotiate('multipart/related; type="application/dicom"; transfer-syntax=*', instance)).toEqual({
      offer: instance[0],
      transferSyntax: JPEG_BASELINE,
    });

    const forFrames = await withDicomwebClient((client, request) =>
      client.retrieveInstanceFrames({ ...ids, frameNumbers: [1], request }).catch(() => undefined),
    );
    expect(negotiate(forFrames.sent.headers["accept"], frames)?.offer).toBe(frames[0]);

    const forJpegFrames = await withDicomwebClient((client, request) =>
      client
        .retrieveInstanceFrames({
          ...ids,
          frameNumbers: [1],
          mediaTypes: [{ mediaType: "image/jpeg", transferSyntaxUID: JPEG_BASELINE }],
          request,
        })
        .catch(() => undefined),
    );
    expect(negotiate(forJpegFrames.sent.headers["accept"], frames)).toEqual({
      offer: frames[1],
      transferSyntax: JPEG_BASELINE,
    });

    const forMetadata = await withDicomwebClient((client, request) =>
      client.retrieveInstanceMetadata({ ...ids, request }).catch(() => undefined),
    );
    expect(negotiate(forMetadata.sent.headers["accept"], metadata)).toEqual({ offer: metadata[0] });
  });

  it("names the stored syntax when transfer-syntax is absent", () => {
    expect(negotiate('multipart/related; type="application/dicom"', instance)?.transferSyntax).toBe(JPEG_BASELINE);
  });

  it("requires an explicit transfer-syntax to be the one offered", () => {
    expect(negotiate(`multipart/related; type="application/dicom"; transfer-syntax=${EXPLICIT_LE}`, instance)).toBeUndefined();
    expect(negotiate(`multipart/related; type="application/dicom"; transfer-syntax=${JPEG_BASELINE}`, instance)).toEqual({
      offer: instance[0],
      transferSyntax: JPEG_BASELINE,
    });
    // dcm4che/dcm4che#308: the parameter inside the quoted type.
    expect(
      negotiate(`multipart/related; type="application/dicom; transfer-syntax=${JPEG_LOSSLESS}"`, instance),
    ).toBeUndefined();
    expect(negotiate(`multipart/related; type="application/dicom;transfer-syntax=${JPEG_BASELINE}"`, instance)).toEqual({
      offer: instance[0],
      transferSyntax: JPEG_BASELINE,
    });
  });

  it("falls through a list to the first acceptable range", () => {
    const accept = [
      `multipart/related; type="application/dicom"; transfer-syntax=${JPEG_LOSSLESS}`,
      `multipart/related; type="application/dicom"; transfer-syntax=${EXPLICIT_LE}; q=0.9`,
      `multipart/related; type="application/dicom"; transfer-syntax=*; q=0.5`,
    ].join(", ");
    expect(negotiate(accept, instance)?.transferSyntax).toBe(JPEG_BASELINE);
  });

  it("matches multipart/related without type to the first multipart offer", () => {
    expect(negotiate("multipart/related", frames)?.offer).toBe(frames[0]);
    expect(negotiate("multipart/related", metadata)?.offer).toBe(metadata[1]);
  });

  it("needs the type parameter to match a part type", () => {
    expect(negotiate('multipart/related; type="application/dicom"', frames)).toBeUndefined();
    expect(negotiate('multipart/related; type="image/jpeg"', frames)?.offer).toBe(frames[1]);
    expect(negotiate('multipart/related; type="image/*"', frames)?.offer).toBe(frames[1]);
    expect(negotiate("application/dicom", instance)).toBeUndefined();
  });

  it("honours wildcards", () => {
    expect(negotiate("image/*", rendered)?.offer).toBe(rendered[0]);
    expect(negotiate("application/*", metadata)?.offer).toBe(metadata[0]);
    expect(negotiate("multipart/*", metadata)?.offer).toBe(metadata[1]);
    expect(negotiate("text/*", rendered)).toBeUndefined();
  });

  it("prefers higher q over offer order", () => {
    expect(negotiate("image/jpeg;q=0.4, image/png;q=0.8, image/gif;q=0.6", rendered)?.offer).toBe(rendered[1]);
    expect(negotiate("image/gif, image/png", rendered)?.offer).toBe(rendered[2]);
    expect(
      negotiate('multipart/related; type="application/octet-stream"; q=0.5, multipart/related; type="image/jpeg"', frames)
        ?.offer,
    ).toBe(frames[1]);
  });

  it("excludes with q=0, also under a matching wildcard", () => {
    expect(negotiate("image/jpeg;q=0", rendered.slice(0, 1))).toBeUndefined();
    expect(negotiate("image/*, image/jpeg;q=0", rendered)?.offer).toBe(rendered[1]);
    expect(negotiate("*/*;q=0", rendered)).toBeUndefined();
    expect(negotiate("*/*, image/*;q=0", [...metadata, ...rendered])?.offer).toBe(metadata[0]);
  });

  it("prefers a named type to an equally weighted wildcard", () => {
    expect(negotiate("*/*, image/png", rendered)?.offer).toBe(rendered[1]);
  });

  it("refuses a charset other than UTF-8 for JSON, ignores it elsewhere", () => {
    expect(negotiate("application/dicom+json; charset=utf-8", metadata)?.offer).toBe(metadata[0]);
    expect(negotiate("application/dicom+json; charset=ISO-8859-1", metadata.slice(0, 1))).toBeUndefined();
    expect(negotiate("image/jpeg; charset=ISO-8859-1", rendered)?.offer).toBe(rendered[0]);
  });

  it("passes on a requested syntax when the offer names none", () => {
    expect(negotiate(`image/jpeg; transfer-syntax=${JPEG_BASELINE}`, rendered)).toEqual({
      offer: rendered[0],
      transferSyntax: JPEG_BASELINE,
    });
  });
});

describe("acceptFrom and negotiateRequest (PS3.18 8.3.3.1, 8.7.8.1)", () => {
  it("prefers the accept query parameter, keeping '+' and joining repeats", () => {
    const headers = new Headers({ accept: "application/dicom+xml" });
    expect(acceptFrom(new URL("http://x/studies?accept=application/dicom+json"), headers)).toBe(
      "application/dicom+json",
    );
    expect(acceptFrom(new URL("http://x/studies?accept=image%2Fjpeg&limit=1&accept=image/png"), headers)).toBe(
      "image/jpeg, image/png",
    );
    expect(
      acceptFrom(
        new URL(`http://x/frames/1?accept=${encodeURIComponent('multipart/related; type="image/jpeg"')}`),
        headers,
      ),
    ).toBe('multipart/related; type="image/jpeg"');
    expect(acceptFrom(new URL("http://x/studies?accept="), headers)).toBe("application/dicom+xml");
    expect(acceptFrom(new URL("http://x/studies?accepted=1"), new Headers())).toBeNull();
  });

  it("falls back to the header when nothing in the query parameter is offered", () => {
    const url = new URL("http://x/rendered?accept=image/webp");
    expect(negotiateRequest(url, new Headers({ accept: "image/png" }), rendered)?.offer).toBe(rendered[1]);
    expect(negotiateRequest(url, new Headers({ accept: "text/html" }), rendered)).toBeUndefined();
    expect(
      negotiateRequest(new URL("http://x/rendered?accept=image/gif"), new Headers({ accept: "image/png" }), rendered)
        ?.offer,
    ).toBe(rendered[2]);
  });
});
