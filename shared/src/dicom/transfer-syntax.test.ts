import { describe, expect, it } from "vitest";
import { transferSyntax, transferSyntaxes } from "./transfer-syntax.ts";

describe("transferSyntax", () => {
  it("describes the native syntaxes", () => {
    expect(transferSyntax("1.2.840.10008.1.2")).toMatchObject({ explicitVR: false, littleEndian: true, encapsulated: false });
    expect(transferSyntax("1.2.840.10008.1.2.1")).toMatchObject({ explicitVR: true, littleEndian: true, deflated: false });
    expect(transferSyntax("1.2.840.10008.1.2.1.99")).toMatchObject({ explicitVR: true, deflated: true });
    expect(transferSyntax("1.2.840.10008.1.2.2")).toMatchObject({ littleEndian: false, frameMediaType: "application/octet-stream" });
  });

  it("gives the PS3.18 media type of encapsulated frames", () => {
    const media = (suffix: string) => transferSyntax(`1.2.840.10008.1.2.${suffix}`)?.frameMediaType;
    expect(media("4.50")).toBe("image/jpeg");
    expect(media("4.51")).toBe("image/jpeg");
    expect(media("4.57")).toBe("image/jpeg");
    expect(media("4.70")).toBe("image/jpeg");
    expect(media("4.80")).toBe("image/jls");
    expect(media("4.81")).toBe("image/jls");
    expect(media("4.90")).toBe("image/jp2");
    expect(media("4.91")).toBe("image/jp2");
    expect(media("4.92")).toBe("image/jpx");
    expect(media("4.93")).toBe("image/jpx");
    expect(media("4.201")).toBe("image/jphc");
    expect(media("4.203")).toBe("image/jphc");
    expect(media("5")).toBe("image/dicom-rle");
    expect(media("4.100")).toBe("video/mpeg");
    expect(media("4.102")).toBe("video/mp4");
    expect(media("4.107")).toBe("video/H265");
    expect(media("4.108")).toBe("video/H265");
    expect(transferSyntax("1.2.840.10008.1.2.5")?.encapsulated).toBe(true);
  });

  it("has one entry per UID and none for unknown UIDs", () => {
    const uids = transferSyntaxes().map((ts) => ts.uid);
    expect(new Set(uids).size).toBe(uids.length);
    expect(transferSyntax("1.2.3.4")).toBeUndefined();
  });
});
