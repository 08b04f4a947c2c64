import { Hono } from "hono";
import { listTokens, revokeToken } from "../auth";
import { errorResponse } from "../dicomweb/errors";
import type { Env } from "../env";
import { agentStatuses, reinstate, revokeAndDisconnect } from "./agents";
import { tokenView } from "./tokens";

/**
 * /admin (the admin scope, auth/access.ts): the edge's tokens and its
 * agents. Tokens are listed and revoked here; they are made by the `token`
 * CLI, which holds the private key the edge never sees.
 */
export const admin = new Hono<{ Bindings: Env }>();

admin.get("/tokens", async (c) => c.json((await listTokens(c.env.DB)).map(tokenView)));

admin.post("/tokens/:id/revoke", async (c) => {
  const record = await revokeToken(c.env.DB, c.req.param("id"), Date.now());
  return record ? c.json(tokenView(record)) : errorResponse(404, `no such token ${c.req.param("id")}`);
});

admin.get("/agents", async (c) => c.json(await agentStatuses(c.env)));

admin.post("/agents/:id/revoke", async (c) => {
  const id = c.req.param("id");
  const revoked = await revokeAndDisconnect(c.env, id);
  return revoked ? c.json({ id, revoked: true, ...revoked }) : errorResponse(404, `unknown agent ${id}`);
});

admin.post("/agents/:id/reinstate", async (c) => {
  const id = c.req.param("id");
  const reinstated = await reinstate(c.env, id);
  return reinstated ? c.json({ id, revoked: false, ...reinstated }) : errorResponse(404, `unknown agent ${id}`);
});
