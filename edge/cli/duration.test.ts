import { describe, expect, it } from "vitest";
import { MAX_LIFETIME_SECONDS, parseDuration } from "./duration";

describe("parseDuration", () => {
  it.each([
    ["30d", 30 * 86_400],
    ["12h", 12 * 3_600],
    ["90m", 90 * 60],
    ["3600s", 3_600],
    ["1s", 1],
    ["366d", MAX_LIFETIME_SECONDS],
  ])("%s is %i seconds", (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(["", "30", "d", "30 d", " 30d", "30D", "1.5h", "-1h", "0s", "0d", "1w", "30d1h", "367d", "9999999999s", "1e3s"])(
    "refuses %j as a usage error",
    (text) => {
      expect(() => parseDuration(text)).toThrow(expect.objectContaining({ exitCode: 2 }));
    },
  );
});
