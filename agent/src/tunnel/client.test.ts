import { describe, expect, it } from "vitest";
import { openCreditOf } from "./client.ts";

describe("openCreditOf", () => {
  it("reads the edge's decimal open credit", () => {
    expect(openCreditOf("786432")).toBe(786432);
    expect(openCreditOf("0")).toBe(0);
    expect(openCreditOf("4294967295")).toBe(0xffff_ffff);
  });

  it("takes anything else as 0, the protocol's default", () => {
    for (const header of [undefined, "", "-1", "1e6", " 5", "0x10", "4294967296", "99999999999", ["1024", "2048"]]) expect(openCreditOf(header)).toBe(0);
  });
});
