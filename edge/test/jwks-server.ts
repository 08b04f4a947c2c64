// Global setup of the edge tests (runs in Node, not workerd): a tiny HTTP
// server on loopback acting as an OpenID Connect issuer's JWKS endpoint.
// The Worker fetches its keys from it over real HTTP, as from Keycloak or
// Entra ID; the tests, inside workerd, set the key sets it serves.
//   GET /jwks/{name}     the key set last PUT under {name}; 404 before
//   PUT /jwks/{name}     sets it (a rotation when it changes)
//   GET /fetches/{name}  {"count": n}: how often the Worker fetched it
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestProject } from "vitest/node";

export default async function setup(project: TestProject) {
  const sets = new Map<string, string>();
  const fetches = new Map<string, number>();
  const server = createServer((req, res) => {
    const [, route, name] = /^\/(jwks|fetches)\/([\w.-]+)$/.exec(req.url ?? "") ?? [];
    const send = (status: number, body: string) => res.writeHead(status, { "Content-Type": "application/json" }).end(body);
    if (route === "jwks" && req.method === "PUT") {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => (body += chunk));
      req.on("end", () => {
        sets.set(name!, body);
        send(204, "");
      });
      return;
    }
    if (route === "jwks" && req.method === "GET") {
      fetches.set(name!, (fetches.get(name!) ?? 0) + 1);
      const set = sets.get(name!);
      return set === undefined ? send(404, "{}") : send(200, set);
    }
    if (route === "fetches") return send(200, JSON.stringify({ count: fetches.get(name!) ?? 0 }));
    send(404, "{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  project.provide("jwksBase", `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}

declare module "vitest" {
  export interface ProvidedContext {
    /** http://127.0.0.1:{port} of the test JWKS server. */
    jwksBase: string;
  }
}
