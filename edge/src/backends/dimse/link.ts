import { PACS_META_HEADER, type PacsAnswer } from "../../agents/pacs";
import type { Env } from "../../env";
import { BackendUnavailable } from "../backend";
import type { DimseConfig } from "./config";

/**
 * The Worker's way to the agent's AgentHub Durable Object (idFromName), which
 * opens the PACS streams on the agent's tunnel (agents/pacs.ts). Its 502,
 * 503 (agent not connected) and 504 become BackendUnavailable; so does a
 * Durable Object that cannot be reached.
 */
export class AgentPacsLink {
  constructor(
    private readonly hubs: Env["AGENT_HUB"],
    readonly config: DimseConfig,
  ) {}

  /** The stream's RESULT (and matches) for `operation` with `meta`; the body is the instance for "store". */
  async call(operation: "echo" | "find" | "store", meta: Record<string, unknown>, body?: ReadableStream<Uint8Array>): Promise<PacsAnswer> {
    return (await (await this.fetch(operation, meta, body)).json()) as PacsAnswer;
  }

  /** A `pacs-get` stream as the Durable Object passes it on: framed instances, then the RESULT (shared/src/tunnel/pacs.ts). */
  async get(meta: Record<string, unknown>): Promise<ReadableStream<Uint8Array>> {
    const response = await this.fetch("get", meta);
    if (!response.body) throw new BackendUnavailable(502, `agent ${this.config.agent}: the retrieve came without a body`);
    return response.body;
  }

  /** The Durable Object's 200; its other answers and an unreachable Durable Object as BackendUnavailable. */
  private async fetch(operation: "echo" | "find" | "store" | "get", meta: Record<string, unknown>, body?: ReadableStream<Uint8Array>): Promise<Response> {
    const hub = this.hubs.get(this.hubs.idFromName(this.config.agent));
    const full = { ...meta, pacs: this.config.pacs, timeoutMs: this.config.timeoutMs };
    let response: Response;
    try {
      response = await hub.fetch(`https://agent-hub/pacs/${operation}`, {
        method: "POST",
        headers: { "x-agent-id": this.config.agent, ...(body ? { [PACS_META_HEADER]: JSON.stringify(full) } : { "content-type": "application/json" }) },
        body: body ?? JSON.stringify(full),
      });
    } catch (error) {
      throw new BackendUnavailable(502, `agent ${this.config.agent} could not be reached: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (response.status === 200) return response;
    const text = await response.text();
    let message = text.slice(0, 200);
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      // not JSON: the text as it is
    }
    const status = response.status === 503 || response.status === 504 ? response.status : 502;
    throw new BackendUnavailable(status, message);
  }
}
