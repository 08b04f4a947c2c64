// Global setup of the edge tests (runs in Node, not workerd): a real FHIR
// server (Medplum's router and in-memory repository, e2e/fhir-server.ts)
// with a client-credentials token endpoint, for the tests of the FHIR push
// (edge/src/fhir/push). The tests reach it over HTTP, its counters and
// token revocation through its /_test routes.
import type { TestProject } from "vitest/node";
import { startFhirServer } from "../../e2e/fhir-server";

export default async function setup(project: TestProject) {
  const server = await startFhirServer({ clientId: "edge-tests", clientSecret: "edge tests: s3cret/+%" });
  project.provide("fhirServer", { origin: server.origin, base: server.base, tokenUrl: server.tokenUrl, clientId: server.clientId, clientSecret: server.clientSecret, token: server.token() });
  return () => server.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    /** The test FHIR server: its FHIR base, token endpoint, the client it accepts, and a token for reading it. */
    fhirServer: { origin: string; base: string; tokenUrl: string; clientId: string; clientSecret: string; token: string };
  }
}
