import { DurableObject } from "cloudflare:workers";
import { Status } from "@dicom-edge/shared/dicom/status";
import type { FetchMeta, RetrieveMeta } from "@dicom-edge/shared/tunnel/retrieve";
import { TunnelSession, type TunnelStream } from "@dicom-edge/shared/tunnel/session";
import { backendFor } from "../backends/select";
import { errorResponse } from "../dicomweb/errors";
import type { Env } from "../env";
import { findOutcome, type FindMeta } from "./find";
import { echoOutcome, storeOutcome } from "./operations";
import { fetchOutcome, retrieveOutcome } from "./retrieve";
import { parseSendRequest, sendResponse, sendThroughAgent } from "./send";

/**
 * One Durable Object per on-prem agent (DESIGN: The tunnel): it holds the
 * agent's WebSocket with the hibernation API and serves the streams the
 * agent opens through the shared tunnel protocol (echo, store, find,
 * retrieve, fetch), and opens `send` streams toward it. The session is
 * rebuilt after hibernation; hibernation only happens while no stream is
 * open and no request is in flight, so nothing in flight is lost by it.
 */
export class AgentHub extends DurableObject<Env> {
  private session: TunnelSession | undefined;

  /** The Worker forwards two requests here: the agent's WebSocket (connect.ts) and a send toward it (send.ts). */
  override async fetch(request: Request): Promise<Response> {
    const agentId = request.headers.get("x-agent-id") ?? "";
    if (request.headers.get("upgrade")?.toLowerCase() === "websocket") return this.acceptAgent(agentId);
    if (request.method === "POST" && new URL(request.url).pathname.endsWith("/send")) return this.send(request, agentId);
    return errorResponse(404, "no such resource");
  }

  private async acceptAgent(agentId: string): Promise<Response> {
    const pair = new WebSocketPair();
    const [client, server] = Object.values(pair) as [WebSocket, WebSocket];
    // One connection per agent: a reconnecting agent replaces its old socket.
    for (const old of this.ctx.getWebSockets()) old.close(4000, "replaced by a new connection");
    this.session?.close("replaced by a new connection");
    this.session = undefined;
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ agentId });
    await this.env.DB.prepare(
      "INSERT INTO agent_connections (agent_id, connected_at) VALUES (?1, ?2) ON CONFLICT (agent_id) DO UPDATE SET connected_at = excluded.connected_at",
    )
      .bind(agentId, Date.now())
      .run();
    return new Response(null, { status: 101, webSocket: client });
  }

  /**
   * A send opens a stream toward the agent and holds this request until its
   * outcome: the open request keeps the object from hibernating meanwhile.
   * After hibernation the session is rebuilt on the socket that survived it.
   */
  private async send(request: Request, agentId: string): Promise<Response> {
    const ws = this.ctx.getWebSockets().find((socket) => socket.readyState === WebSocket.OPEN);
    if (!ws) return errorResponse(503, `agent ${agentId} is not connected`);
    const send = parseSendRequest(await request.json());
    if ("reason" in send) return errorResponse(400, send.reason);
    return sendResponse(agentId, send, await sendThroughAgent(this.sessionFor(ws), send, request.signal));
  }

  override async webSocketMessage(ws: WebSocket, message: ArrayBuffer | string): Promise<void> {
    if (typeof message === "string") {
      ws.close(1003, "the tunnel carries binary frames only");
      return;
    }
    this.sessionFor(ws).receive(new Uint8Array(message));
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
    this.session?.close(why);
    this.session = undefined;
    const { agentId } = ws.deserializeAttachment() as { agentId: string };
    if (this.ctx.getWebSockets().every((other) => other === ws)) {
      await this.env.DB.prepare("DELETE FROM agent_connections WHERE agent_id = ?1").bind(agentId).run();
    }
  }

  private sessionFor(ws: WebSocket): TunnelSession {
    this.session ??= new TunnelSession({
      role: "edge",
      send: (frame) => ws.send(frame),
      // Bounded memory (128 MB per object): at most 16 streams of 1 MiB window each.
      maxStreams: 16,
      initialCredit: 1024 * 1024,
      onOpen: (stream, meta) => {
        // Keeps the object awake until the operation has answered.
        this.ctx.waitUntil(this.serve(stream, meta));
      },
    });
    return this.session;
  }

  private async serve(stream: TunnelStream, meta: { kind: string } & Record<string, unknown>): Promise<void> {
    const backend = backendFor(this.env);
    try {
      switch (meta.kind) {
        case "echo":
          stream.sendResult(await echoOutcome(backend));
          return;
        case "store":
          stream.sendResult(await storeOutcome(backend, stream.readable));
          return;
        case "find": {
          // Undefined: the agent cancelled (C-CANCEL), the stream is already gone.
          const outcome = await findOutcome(backend, stream, meta as FindMeta);
          if (outcome && !stream.closed) stream.sendResult(outcome);
          return;
        }
        case "retrieve": {
          const outcome = await retrieveOutcome(backend, stream, meta as unknown as RetrieveMeta);
          if (outcome && !stream.closed) stream.sendResult(outcome);
          return;
        }
        case "fetch": {
          const outcome = await fetchOutcome(backend, stream, meta as unknown as FetchMeta);
          if (outcome && !stream.closed) stream.sendResult(outcome);
          return;
        }
        default:
          stream.reset("unknown-kind", `no operation ${meta.kind}`);
      }
    } catch (error) {
      console.error(`agent stream ${meta.kind} failed`, error);
      if (stream.closed) return;
      stream.sendResult({ status: Status.ProcessingFailure, errorComment: "the edge failed to process the operation" });
    }
  }
}
