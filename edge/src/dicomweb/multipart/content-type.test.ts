import { describe, expect, it } from "vitest";
import { isAcceptableBoundary, isValidBoundary, multipartRelated, parseMediaType } from "./content-type.ts";

describe("parseMediaType", () => {
  it("lower-cases type, subtype and parameter names, keeps values", () => {
    expect(parseMediaType('Multipart/Related; Type="application/dicom"; BOUNDARY=AbC')).toEqual({
      type: "multipart",
      subtype: "related",
      params: { type: "application/dicom", boundary: "AbC" },
    });
  });

  it("reads quoted-strings with quoted-pairs, semicolons and commas", () => {
    expect(parseMediaType('text/plain; a="x\\"y;z, w"; b=1')?.params).toEqual({ a: 'x"y;z, w', b: "1" });
  });

  it("tolerates whitespace around separators and an empty parameter", () => {
    expect(parseMediaType("  application/dicom+json ;  charset = utf-8 ;; ")).toEqual({
      type: "application",
      subtype: "dicom+json",
      params: { charset: "utf-8" },
    });
  });

  it("reads unquoted values containing '/' as OHIF sends them", () => {
    expect(parseMediaType("multipart/related; type=application/octet-stream; transfer-syntax=*")?.params).toEqual({
      type: "application/octet-stream",
      "transfer-syntax": "*",
    });
  });

  it("keeps the first of repeated parameters", () => {
    expect(parseMediaType("a/b; x=1; X=2")?.params).toEqual({ x: "1" });
  });

  it("rejects what is not a media type", () => {
    expect(parseMediaType("")).toBeUndefined();
    expect(parseMediaType("application")).toBeUndefined();
    expect(parseMediaType("application/")).toBeUndefined();
    expect(parseMediaType("app lication/dicom")).toBeUndefined();
    expect(parseMediaType('a/b; x="unterminated')).toBeUndefined();
  });
});

describe("multipartRelated", () => {
  // 73 characters: over RFC 2046's 70, so reading must be lenient.
  it("reads Orthanc's unquoted uuid-uuid boundary", () => {
    const boundary = "5b1fd4c0-6a4e-4d5e-9a0b-1f2e3d4c5b6a-0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d";
    expect(multipartRelated(`multipart/related; type="application/dicom"; boundary=${boundary}`)).toEqual({
      boundary,
      type: "application/dicom",
    });
  });

  it("reads dicomweb-client's quoted boundary", () => {
    expect(
      multipartRelated('multipart/related; type="application/dicom"; boundary="0c1d2e3f-aaaa-bbbb-cccc-ddddeeeeffff"'),
    ).toEqual({ boundary: "0c1d2e3f-aaaa-bbbb-cccc-ddddeeeeffff", type: "application/dicom" });
  });

  it("reads dcm4che stowrs' quoted boundary and type", () => {
    expect(multipartRelated('multipart/related;type="application/dicom";boundary="myboundary"')).toEqual({
      boundary: "myboundary",
      type: "application/dicom",
    });
  });

  it("keeps boundary characters RFC 2046 allows, including quoted space, ':' and '='", () => {
    expect(multipartRelated(`multipart/related; boundary="----=_Part_0 'x'+(1).a:b,c?d/e"`)?.boundary).toBe(
      "----=_Part_0 'x'+(1).a:b,c?d/e",
    );
    expect(multipartRelated("multipart/related; boundary=----=_Part_1_2.3'+")?.boundary).toBe("----=_Part_1_2.3'+");
  });

  it("reads start and lower-cases type", () => {
    expect(multipartRelated('multipart/related; type="Application/DICOM+XML"; start="<root@x>"; boundary=b')).toEqual({
      boundary: "b",
      type: "application/dicom+xml",
      start: "<root@x>",
    });
  });

  it("rejects other media types and bad or missing boundaries", () => {
    expect(multipartRelated(null)).toBeUndefined();
    expect(multipartRelated("application/dicom")).toBeUndefined();
    expect(multipartRelated("multipart/form-data; boundary=x")).toBeUndefined();
    expect(multipartRelated('multipart/related; type="application/dicom"')).toBeUndefined();
    expect(multipartRelated('multipart/related; boundary=""')).toBeUndefined();
    expect(multipartRelated(`multipart/related; boundary=${"a".repeat(201)}`)).toBeUndefined();
    expect(multipartRelated('multipart/related; boundary="ends in space "')).toBeUndefined();
  });

  it("generates boundaries of at most 70 characters but reads longer ones", () => {
    expect(isValidBoundary("a".repeat(70))).toBe(true);
    expect(isValidBoundary("a".repeat(71))).toBe(false);
    expect(isAcceptableBoundary("a".repeat(200))).toBe(true);
    expect(isValidBoundary("a\r\nb")).toBe(false);
  });
});
