// A rest-hook receiver for the FHIR Subscription tests: a real HTTP server on
// loopback (Node), as a subscriber's endpoint would be. The edge tests get it
// as a vitest global setup (its URL through inject("hookBase")) and drive it
// over HTTP from workerd; the e2e tests start their own with startHookReceiver().
//   POST /hooks/{name}     a notification: recorded, answered per the plan
//   PUT  /plans/{name}     {"fail": n, "status": 503} answers the next n with
//                          that status (n = -1: always), then 200
//   GET  /received/{name}  the notifications recorded so far, oldest first
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestProject } from "vitest/node";

export interface Received {
  headers: IncomingHttpHeaders;
  /** The body as text ("" for an empty notification). */
  body: string;
  /** The status it was answered with. */
  status: number;
  at: number;
}

export interface Plan {
  /** How many notifications to fail; -1 for all. */
  fail: number;
  status?: number;
}

export interface HookReceiver {
  /** http://127.0.0.1:{port} */
  base: string;
  /** The endpoint URL of hook `name`. */
  url(name: string): string;
  received(name: string): Received[];
  plan(name: string, plan: Plan): void;
  close(): Promise<void>;
}

export async function startHookReceiver(): Promise<HookReceiver> {
  const received = new Map<string, Received[]>();
  const plans = new Map<string, Plan>();
  const server = createServer((req, res) => {
    const [, route, name] = /^\/(hooks|plans|received)\/([\w.-]+)$/.exec(req.url ?? "") ?? [];
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      const send = (status: number, text = "") => res.writeHead(status, { "Content-Type": "application/json" }).end(text);
      if (route === "hooks" && req.method === "POST") {
        const plan = plans.get(name!);
        let status = 200;
        if (plan && plan.fail !== 0) {
          status = plan.status ?? 500;
          if (plan.fail > 0) plan.fail--;
        }
        const list = received.get(name!) ?? [];
        list.push({ headers: req.headers, body, status, at: Date.now() });
        received.set(name!, list);
        return send(status);
      }
      if (route === "plans" && req.method === "PUT") {
        plans.set(name!, JSON.parse(body) as Plan);
        return send(204);
      }
      if (route === "received" && req.method === "GET") return send(200, JSON.stringify(received.get(name!) ?? []));
      send(404, "{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    url: (name) => `${base}/hooks/${name}`,
    received: (name) => received.get(name) ?? [],
    plan: (name, plan) => void plans.set(name, { ...plan }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export default async function setup(project: TestProject) {
  const receiver = await startHookReceiver();
  project.provide("hookBase", receiver.base);
  return () => receiver.close();
}

declare module "vitest" {
  export interface ProvidedContext {
    /** http://127.0.0.1:{port} of the test rest-hook receiver. */
    hookBase: string;
  }
}
