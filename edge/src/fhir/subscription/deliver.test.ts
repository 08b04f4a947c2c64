import { describe, expect, it } from "vitest";
import { backoffSeconds, DEFAULT_RETRY_BASE_SECONDS, retryBase } from "./deliver";

describe("notification backoff", () => {
  it("doubles from the base, up to Queues' longest delay", () => {
    expect([1, 2, 3, 4, 5].map((attempt) => backoffSeconds(attempt, 10))).toEqual([10, 20, 40, 80, 160]);
    expect(backoffSeconds(1, 0)).toBe(0);
    expect(backoffSeconds(30, 10)).toBe(43_200);
  });

  it("reads the base from the variable, else 10 s", () => {
    expect(retryBase("1")).toBe(1);
    expect(retryBase("0")).toBe(0);
    expect(retryBase(undefined)).toBe(DEFAULT_RETRY_BASE_SECONDS);
    expect(retryBase("")).toBe(DEFAULT_RETRY_BASE_SECONDS);
    expect(retryBase("-1")).toBe(DEFAULT_RETRY_BASE_SECONDS);
    expect(retryBase("soon")).toBe(DEFAULT_RETRY_BASE_SECONDS);
  });
});
