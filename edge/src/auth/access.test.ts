import { describe, expect, it } from "vitest";
import { accessFor } from "./access";

describe("accessFor: the scope of every route", () => {
  const cases: [method: string, path: string, expected: ReturnType<typeof accessFor>][] = [
    ["GET", "/health", { kind: "public" }],
    ["HEAD", "/health", { kind: "public" }],
    ["GET", "/agents/site-a/connect", { kind: "agent" }],
    ["POST", "/agents/site-a/send", { kind: "bearer", scope: "read" }],
    ["GET", "/agents/site-a/send", { kind: "bearer" }],
    ["POST", "/agents/site-a/connect", { kind: "bearer" }],
    // QIDO-RS and WADO-RS (PS3.18 10.4, 10.6): read.
    ["GET", "/dicomweb/studies", { kind: "bearer", scope: "read" }],
    ["HEAD", "/dicomweb/studies/1.2/series/3.4/instances/5.6/frames/1", { kind: "bearer", scope: "read" }],
    ["GET", "/dicomweb", { kind: "bearer", scope: "read" }],
    // STOW-RS (PS3.18 10.5): write.
    ["POST", "/dicomweb/studies", { kind: "bearer", scope: "write" }],
    ["POST", "/dicomweb/studies/1.2", { kind: "bearer", scope: "write" }],
    ["PUT", "/dicomweb/studies/1.2", { kind: "bearer", scope: "write" }],
    ["DELETE", "/dicomweb/studies/1.2", { kind: "bearer", scope: "delete" }],
    ["GET", "/fhir/ImagingStudy", { kind: "bearer", scope: "read" }],
    ["GET", "/fhir", { kind: "bearer", scope: "read" }],
    ["POST", "/fhir/ImagingStudy", { kind: "bearer", scope: "write" }],
    ["DELETE", "/fhir/ImagingStudy/1", { kind: "bearer", scope: "delete" }],
    ["GET", "/admin/tokens", { kind: "bearer", scope: "admin" }],
    ["POST", "/admin/agents/site-a/revoke", { kind: "bearer", scope: "admin" }],
    ["GET", "/admin", { kind: "bearer", scope: "admin" }],
    // Near misses are not the routes they resemble: any valid token, then 404.
    ["GET", "/dicomwebx/studies", { kind: "bearer" }],
    ["GET", "/administrator", { kind: "bearer" }],
    ["GET", "/health/x", { kind: "bearer" }],
    ["GET", "/", { kind: "bearer" }],
    ["OPTIONS", "/dicomweb/studies", { kind: "bearer" }],
  ];
  for (const [method, path, expected] of cases) {
    it(`${method} ${path}`, () => expect(accessFor(method, path)).toEqual(expected));
  }
});
