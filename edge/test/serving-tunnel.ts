// An agent's tunnel session back to back with the edge's, the edge serving
// the streams the agent opens with `serve` and sending its outcome as the
// RESULT, as AgentHub does. Sessions close after each test.
import type { OpenMeta } from "@dicom-edge/shared/tunnel/frame";
import type { TunnelSession, TunnelStream } from "@dicom-edge/shared/tunnel/session";
import { backToBack } from "@dicom-edge/shared/tunnel/testing/back-to-back";
import { afterEach } from "vitest";
import type { DimseOutcome } from "../src/agents/operations";

const sessions: TunnelSession[] = [];
afterEach(() => {
  for (const s of sessions.splice(0)) s.close("test over");
});

/**
 * `serve` answers undefined when the agent cancelled (nothing to send).
 * The edge's window is small (1 KiB) so flow control is exercised;
 * `agentCredit` sets the agent's.
 */
export function servingTunnel(serve: (stream: TunnelStream, meta: OpenMeta) => Promise<DimseOutcome | undefined>, options: { agentCredit?: number } = {}) {
  const outcomes: (DimseOutcome | undefined)[] = [];
  const { agent, edge } = backToBack(
    (stream, meta) => {
      void serve(stream, meta).then((outcome) => {
        outcomes.push(outcome);
        if (outcome && !stream.closed) stream.sendResult(outcome);
      });
    },
    { edgeCredit: 1024, ...(options.agentCredit ? { agentCredit: options.agentCredit } : {}) },
  );
  sessions.push(agent, edge);
  return { agent, outcomes };
}
