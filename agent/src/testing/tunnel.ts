// An agent's and an edge's tunnel session back to back in one process, for
// tests of the agent's operations against a test edge that serves streams.
import type { OpenMeta } from "@dicom-edge/shared/tunnel/frame";
import { TunnelSession, type TunnelStream } from "@dicom-edge/shared/tunnel/session";
import type { EdgeLink } from "../store/forward.ts";

export interface BackToBack {
  /** Opens streams from the agent's side, as the tunnel client does. */
  link: EdgeLink;
  agent: TunnelSession;
  edge: TunnelSession;
  close(): void;
}

/** `onOpen` serves the streams the agent opens; `edgeCredit` is the edge's receive window. */
export function backToBack(onOpen: (stream: TunnelStream, meta: OpenMeta) => void, options: { edgeCredit?: number } = {}): BackToBack {
  const wire = (to: () => TunnelSession) => (bytes: Uint8Array) => {
    const message = bytes.slice();
    queueMicrotask(() => to().receive(message));
  };
  const agent: TunnelSession = new TunnelSession({ role: "agent", send: wire(() => edge) });
  const edge: TunnelSession = new TunnelSession({
    role: "edge",
    send: wire(() => agent),
    onOpen,
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
