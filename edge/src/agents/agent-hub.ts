import { DurableObject } from "cloudflare:workers";
import { OPEN_CREDIT_HEADER, TunnelSession } from "@dicom-edge/shared/tunnel/session";
import { errorResponse } from "../dicomweb/errors";
import type { Env } from "../env";
import { PrincipalCache } from "./identity";
import { revokedAt } from "./revocations";
import { isPacsPath, pacsThroughAgent, unavailable } from "./pacs";
import { parseSendRequest, sendResponse, sendThroughAgent } from "./send";
import { serveStream } from "./serve";

/** Bounded memory (128 MB per object): at most 16 streams of 1 MiB window each. */
const MAX_STREAMS = 16;
const INITIAL_CREDIT = 1024 * 1024;
/**
 * What the agent may send on a stream before its first CREDIT, told in the
 * connect response: a C-STORE of a CT slice (about 520 KB) goes out whole
 * with its OPEN, where it would otherwise wait a round trip for the grant.
 */
const OPEN_CREDIT = 768 * 1024;

/** What each accepted socket carries through hibernation. */
interface Attachment {
  agentId: string;
  connection: string;
}

/**
 * One Durable Object per on-prem agent (DESIGN: The tunnel): it holds the
 * agent's WebSocket with the hibernation API and serves the streams the
 * agent opens through the shared tunnel protocol (echo, store, find,
 * retrieve, fetch, authenticate: serve.ts), and opens `send` streams
 * and the DIMSE backend's `pacs-*` streams (pacs.ts) toward it. The
 * session is rebuilt after hibernation; hibernation only happens while no
 * stream is open and no request is in flight, so nothing in flight is lost
 * by it.
 */
export class AgentHub extends DurableObject<Env> {
  private session: TunnelSession | undefined;
  /**
   * The connection the session belongs to (the newest socket). A replaced
   * socket's late frames or close must neither reach nor end its
   * successor's session. Unknown after hibernation, when only one socket
   * is left anyway.
   */
  private activeConnection: string | undefined;
  /** Verified JWT identities of DIMSE operations, for a minute at most (identity.ts). */
  private readonly principals = new PrincipalCache();

  /**
   * The Worker forwards four requests here: the agent's WebSocket
   * (connect.ts), a send toward it (send.ts), a disconnect when an admin
   * revokes the agent (admin/agents.ts), and the DIMSE backend's operations
   * on a PACS through it (pacs.ts).
   */
  override async fetch(request: Request): Promise<Response> {
    const agentId = request.headers.get("x-agent-id") ?? "";
    if (request.headers.get("upgrade")?.toLowerCase() === "websocket") return this.acceptAgent(agentId);
    const path = new URL(request.url).pathname;
    if (request.method === "POST" && path.endsWith("/send")) return this.send(request, agentId);
    if (request.method === "POST" && path.endsWith("/disconnect")) return this.disconnect(agentId);
    if (request.method === "POST" && isPacsPath(path)) return this.pacs(request, agentId);
    return errorResponse(404, "no such resource");
  }

  /**
   * The revocation is checked again here, with no other event in between
   * (blockConcurrencyWhile): a revocation that lands while an agent connects
   * either is seen here or finds the socket to close in `disconnect`.
   */
  private acceptAgent(agentId: string): Promise<Response> {
    return this.ctx.blockConcurrencyWhile(async () => {
      if ((await revokedAt(this.env.DB, agentId)) !== undefined) return errorResponse(403, `agent ${agentId} is revoked`);
      return this.accept(agentId);
    });
  }

  private async accept(agentId: string): Promise<Response> {
    const pair = new WebSocketPair();
    const [client, server] = Object.values(pair) as [WebSocket, WebSocket];
    // One connection per agent: a reconnecting agent replaces its old socket.
    for (const old of this.ctx.getWebSockets()) old.close(4000, "replaced by a new connection");
    this.session?.close("replaced by a new connection");
    this.session = undefined;
    this.ctx.acceptWebSocket(server);
    const connection = crypto.randomUUID();
    server.serializeAttachment({ agentId, connection } satisfies Attachment);
    this.activeConnection = connection;
    await this.env.DB.prepare(
      "INSERT INTO agent_connections (agent_id, connected_at) VALUES (?1, ?2) ON CONFLICT (agent_id) DO UPDATE SET connected_at = excluded.connected_at",
    )
      .bind(agentId, Date.now())
      .run();
    return new Response(null, { status: 101, webSocket: client, headers: { [OPEN_CREDIT_HEADER]: String(OPEN_CREDIT) } });
  }

  /**
   * A send opens a stream toward the agent and holds this request until its
   * outcome: the open request keeps the object from hibernating meanwhile.
   * After hibernation the session is rebuilt on the socket that survived it.
   */
  private async send(request: Request, agentId: string): Promise<Response> {
    const ws = this.ctx.getWebSockets().find((socket) => socket.readyState === WebSocket.OPEN && this.isActive(socket));
    if (!ws) return errorResponse(503, `agent ${agentId} is not connected`);
    const send = parseSendRequest(await request.json());
    if ("reason" in send) return errorResponse(400, send.reason);
    return sendResponse(agentId, send, await sendThroughAgent(this.sessionFor(ws), send, request.signal));
  }

  /** Like a send: the open request keeps the object awake until the agent answered. */
  private async pacs(request: Request, agentId: string): Promise<Response> {
    const ws = this.ctx.getWebSockets().find((socket) => socket.readyState === WebSocket.OPEN && this.isActive(socket));
    if (!ws) return unavailable(503, `agent ${agentId} is not connected`);
    return pacsThroughAgent(this.sessionFor(ws), agentId, request);
  }

  /**
   * The agent was revoked: its socket closes now (4001, an application
   * code, RFC 6455 7.4.2), its open streams fail, and it no longer counts
   * as connected. Its reconnects are refused until it is reinstated.
   */
  private async disconnect(agentId: string): Promise<Response> {
    const sockets = this.ctx.getWebSockets();
    this.session?.close("the agent was revoked");
    this.session = undefined;
    for (const ws of sockets) {
      try {
        ws.close(4001, "revoked");
      } catch {
        // Already closing: nothing left to cut.
      }
    }
    await this.env.DB.prepare("DELETE FROM agent_connections WHERE agent_id = ?1").bind(agentId).run();
    return Response.json({ agent: agentId, closed: sockets.length });
  }

  override async webSocketMessage(ws: WebSocket, message: ArrayBuffer | string): Promise<void> {
    if (typeof message === "string") {
      ws.close(1003, "the tunnel carries binary frames only");
      return;
    }
    if (!this.isActive(ws)) return;
    this.sessionFor(ws).receive(new Uint8Array(message));
  }

  private isActive(ws: WebSocket): boolean {
    return this.activeConnection === undefined || (ws.deserializeAttachment() as Attachment).connection === this.activeConnection;
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    await this.disconnected(ws, `closed: ${code} ${reason}`);
    // 1005/1006 are not codes one may send (RFC 6455 7.4.1).
    ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    await this.disconnected(ws, `error: ${error instanceof Error ? error.message : String(error)}`);
  }

  private async disconnected(ws: WebSocket, why: string): Promise<void> {
    if (this.isActive(ws)) {
      this.session?.close(why);
      this.session = undefined;
    }
    const { agentId } = ws.deserializeAttachment() as Attachment;
    if (this.ctx.getWebSockets().every((other) => other === ws)) {
      await this.env.DB.prepare("DELETE FROM agent_connections WHERE agent_id = ?1").bind(agentId).run();
    }
  }

  private sessionFor(ws: WebSocket): TunnelSession {
    const { agentId } = ws.deserializeAttachment() as Attachment;
    this.session ??= new TunnelSession({
      role: "edge",
      send: (frame) => ws.send(frame),
      maxStreams: MAX_STREAMS,
      initialCredit: INITIAL_CREDIT,
      openCredit: OPEN_CREDIT,
      onOpen: (stream, meta) => {
        // Keeps the object awake until the operation has answered.
        this.ctx.waitUntil(serveStream(this.env, stream, meta, { agentId, principals: this.principals }));
      },
    });
    return this.session;
  }
}
