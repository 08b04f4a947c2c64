// An agent's and an edge's tunnel session back to back in one process, for
// tests of either side's stream handlers (in Node and in workerd).
import type { OpenMeta } from "../frame.ts";
import { TunnelSession, type TunnelStream } from "../session.ts";

export interface BackToBack {
  /** Opens streams from the agent's side, as the agent's tunnel client does. */
  link: { open(kind: string, meta?: Record<string, unknown>): TunnelStream };
  agent: TunnelSession;
  edge: TunnelSession;
  close(): void;
}

export interface BackToBackOptions {
  /** The edge's receive window (what the agent may send before a grant). */
  edgeCredit?: number;
  /** The agent's receive window. */
  agentCredit?: number;
  /** Serves, on the agent's side, the streams the edge opens (`send`). */
  agentOnOpen?: (stream: TunnelStream, meta: OpenMeta) => void;
}

/** `onOpen` serves, on the edge's side, the streams the agent opens; undefined refuses them. */
export function backToBack(onOpen: ((stream: TunnelStream, meta: OpenMeta) => void) | undefined, options: BackToBackOptions = {}): BackToBack {
  const wire = (to: () => TunnelSession) => (bytes: Uint8Array) => {
    const message = bytes.slice();
    queueMicrotask(() => to().receive(message));
  };
  const agent: TunnelSession = new TunnelSession({
    role: "agent",
    send: wire(() => edge),
    ...(options.agentOnOpen ? { onOpen: options.agentOnOpen } : {}),
    ...(options.agentCredit !== undefined ? { initialCredit: options.agentCredit } : {}),
  });
  const edge: TunnelSession = new TunnelSession({
    role: "edge",
    send: wire(() => agent),
    ...(onOpen ? { onOpen } : {}),
    ...(options.edgeCredit !== undefined ? { initialCredit: options.edgeCredit } : {}),
  });
  return {
    link: { open: (kind, meta) => agent.open(kind, meta) },
    agent,
    edge,
    close: () => {
      agent.close("test over");
      edge.close("test over");
    },
  };
}
