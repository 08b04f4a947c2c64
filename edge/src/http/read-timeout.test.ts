import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { DicomWebError, errorResponse } from "../dicomweb/errors";
import { readTimeout } from "./read-timeout";

function app() {
  const app = new Hono();
  app.use("*", readTimeout(50));
  app.get("/stuck", () => new Promise<Response>(() => undefined));
  app.get("/quick", (c) => c.text("ok"));
  app.post("/upload", async (c) => {
    await new Promise((r) => setTimeout(r, 120));
    return c.text("stored");
  });
  app.onError((e) => (e instanceof DicomWebError ? errorResponse(e.status, e.message) : errorResponse(500, "internal error")));
  return app;
}

describe("readTimeout", () => {
  it("answers 503 with a reason when a read does not answer in time", async () => {
    const res = await app().request("/stuck");
    expect(res.status).toBe(503);
    expect(((await res.json()) as Record<string, { Value: string[] }>[])[0]!["00000902"]!.Value[0]).toMatch(/try again/);
  });

  it("leaves quick reads and slow writes alone", async () => {
    expect(await (await app().request("/quick")).text()).toBe("ok");
    expect(await (await app().request("/upload", { method: "POST" })).text()).toBe("stored");
  });
});
