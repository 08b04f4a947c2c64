import { HTTPException } from "hono/http-exception";
import { describe, expect, it, vi } from "vitest";
import { DicomWebError } from "../dicomweb/errors";
import { errorResponse, FhirError } from "./outcome";

async function answer(error: unknown) {
  const res = errorResponse(error, "GET /fhir/x");
  return { status: res.status, type: res.headers.get("content-type"), allow: res.headers.get("allow"), body: (await res.json()) as { resourceType: string; issue: { severity: string; code: string; diagnostics: string }[] } };
}

describe("FHIR errors as OperationOutcomes", () => {
  it("a FhirError with its status, code and reason, and Allow for a 405", async () => {
    expect(await answer(new FhirError(405, "not-supported", "read-only", "GET, HEAD"))).toEqual({
      status: 405,
      type: "application/fhir+json; charset=utf-8",
      allow: "GET, HEAD",
      body: { resourceType: "OperationOutcome", issue: [{ severity: "error", code: "not-supported", diagnostics: "read-only" }] },
    });
  });

  it("the HTTP errors of the rest of the edge with their status", async () => {
    expect((await answer(new DicomWebError(503, "no answer from storage"))).body.issue[0]).toEqual({ severity: "fatal", code: "transient", diagnostics: "no answer from storage" });
    expect((await answer(new HTTPException(403, { message: "needs read" }))).body.issue[0]!.code).toBe("forbidden");
  });

  it("anything else: a 500 whose details stay in the log", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await answer(new Error("D1 said: secret table layout"));
    expect(res.status).toBe(500);
    expect(res.body.issue[0]).toEqual({ severity: "fatal", code: "exception", diagnostics: "internal error" });
    expect(log).toHaveBeenCalledOnce();
    log.mockRestore();
  });
});
