import { describe, expect, it } from "vitest";
import { parseHeader, toResource, validateSubscription, type Invalid, type NewSubscription } from "./resource";

const BASE = "https://edge.example/fhir";

const valid = {
  resourceType: "Subscription",
  status: "requested",
  reason: "new CT studies",
  criteria: "ImagingStudy?modality=CT",
  channel: { type: "rest-hook", endpoint: "https://hooks.example/fhir", payload: "application/fhir+json", header: ["Authorization: Bearer abc"] },
};

function refused(body: unknown): Invalid {
  const result = validateSubscription(body, BASE);
  if (!("code" in result)) throw new Error("accepted");
  return result;
}

describe("Subscription validation", () => {
  it("accepts a rest-hook Subscription and activates it", () => {
    const result = validateSubscription({ ...valid, id: "client-id", meta: { versionId: "9" } }, BASE) as NewSubscription;
    expect(result).toMatchObject({
      status: "active",
      criteria: "ImagingStudy?modality=CT",
      endpoint: "https://hooks.example/fhir",
      headers: ["Authorization: Bearer abc"],
      payload: "application/fhir+json",
      reason: "new CT studies",
    });
    // What the server sets is not kept from the client.
    expect(result.resource).not.toHaveProperty("id");
    expect(result.resource).not.toHaveProperty("meta");
    expect(result.resource).not.toHaveProperty("status");
  });

  it("keeps off, and an empty payload", () => {
    const { payload: _, ...channel } = valid.channel;
    const result = validateSubscription({ ...valid, status: "off", channel }, BASE) as NewSubscription;
    expect(result.status).toBe("off");
    expect(result.payload).toBeNull();
  });

  it("allows http only on loopback", () => {
    for (const endpoint of ["http://127.0.0.1:9999/hook", "http://localhost/hook", "http://[::1]:80/x"]) {
      expect(validateSubscription({ ...valid, channel: { ...valid.channel, endpoint } }, BASE)).not.toHaveProperty("code");
    }
    for (const endpoint of ["http://hooks.example/x", "http://10.0.0.1/x", "ftp://127.0.0.1/x", "/relative", "https://user:pw@hooks.example/x"]) {
      expect(refused({ ...valid, channel: { ...valid.channel, endpoint } }).message).toMatch(/endpoint/);
    }
  });

  it.each([
    [{ ...valid, resourceType: "Patient" }, /resourceType/],
    [{ ...valid, status: undefined }, /status is required/],
    [{ ...valid, status: "error" }, /set by the server/],
    [{ ...valid, status: "on" }, /not requested, active or off/],
    [{ ...valid, reason: undefined }, /reason is required/],
    [{ ...valid, reason: " " }, /reason/],
    [{ ...valid, criteria: undefined }, /criteria is required/],
    [{ ...valid, criteria: "ImagingStudy?foo=bar" }, /unknown search parameter "foo"/],
    [{ ...valid, end: "tomorrow" }, /end/],
    [{ ...valid, channel: undefined }, /channel is required/],
    [{ ...valid, channel: { ...valid.channel, type: "websocket" } }, /only rest-hook/],
    [{ ...valid, channel: { ...valid.channel, payload: "application/fhir+xml" } }, /payload/],
    [{ ...valid, channel: { ...valid.channel, header: "Authorization: x" } }, /array/],
    [{ ...valid, channel: { ...valid.channel, header: ["Authorization: x\r\nX-Evil: 1"] } }, /control characters/],
    [{ ...valid, channel: { ...valid.channel, header: ["Authorization: x\nX-Evil: 1"] } }, /control characters/],
    [{ ...valid, channel: { ...valid.channel, header: ["X-Nul: a\u0000b"] } }, /control characters/],
    [{ ...valid, channel: { ...valid.channel, header: ["No colon"] } }, /Name: value/],
    [{ ...valid, channel: { ...valid.channel, header: ["Bad Name: x"] } }, /Name: value/],
    [{ ...valid, channel: { ...valid.channel, header: ["Content-Length: 0"] } }, /may not set/],
    [{ ...valid, channel: { ...valid.channel, header: ["host: evil"] } }, /may not set/],
    [[valid], /JSON object/],
  ])("refuses %#", (body, reason) => {
    const result = refused(body);
    expect(result.status).toBe(400);
    expect(result.message).toMatch(reason);
  });

  it("parses header lines", () => {
    expect(parseHeader("Authorization: Bearer a b")).toEqual(["Authorization", "Bearer a b"]);
    expect(parseHeader("X-Empty:")).toEqual(["X-Empty", ""]);
    expect(parseHeader("X-A: 1\r\n")).toBeUndefined();
  });

  it("reads back with the server's id, meta, status and error", () => {
    const resource = toResource({ id: "abc", status: "error", error: "HTTP 500", updatedAt: Date.UTC(2024, 0, 2), resource: { resourceType: "Subscription", reason: "r", status: "requested" } });
    expect(resource).toEqual({ resourceType: "Subscription", id: "abc", meta: { lastUpdated: "2024-01-02T00:00:00.000Z" }, reason: "r", status: "error", error: "HTTP 500" });
  });
});
