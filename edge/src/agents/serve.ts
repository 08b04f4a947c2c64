import { Status } from "@dicom-edge/shared/dicom/status";
import type { OpenMeta } from "@dicom-edge/shared/tunnel/frame";
import type { FetchMeta, RetrieveMeta } from "@dicom-edge/shared/tunnel/retrieve";
import type { TunnelStream } from "@dicom-edge/shared/tunnel/session";
import { BackendUnavailable } from "../backends/backend";
import { backendFor } from "../backends/select";
import type { Env } from "../env";
import { findOutcome, type FindMeta } from "./find";
import { authenticateOutcome, grantOf, neededScope, operationRefusal, parseIdentity, type PrincipalCache } from "./identity";
import { echoOutcome, storeOutcome } from "./operations";
import { fetchOutcome, retrieveOutcome } from "./retrieve";

export interface ServeContext {
  agentId: string;
  /** The AgentHub's cache of verified JWT principals. */
  principals?: PrincipalCache;
}

/**
 * Serves one stream the agent opened (echo, store, find, retrieve, fetch,
 * authenticate), for AgentHub. An operation whose identity lacks its scope
 * (agents/identity.ts) is answered 0124 before anything is read: neither
 * the stream's bytes nor the archive.
 */
export async function serveStream(env: Env, stream: TunnelStream, meta: OpenMeta, context: ServeContext): Promise<void> {
  try {
    if (meta.kind === "authenticate") {
      stream.sendResult(await authenticateOutcome(meta.token, env));
      return;
    }
    const scope = neededScope(meta.kind);
    if (scope) {
      const grant = await grantOf(parseIdentity(meta.identity), env, context.principals);
      const refusal = operationRefusal(scope, grant);
      if (refusal) {
        console.warn(`auth: agent ${context.agentId} ${meta.kind} refused for ${grant.subject === undefined ? "no identity" : JSON.stringify(grant.subject)}: ${refusal.errorComment}`);
        stream.sendResult(refusal);
        return;
      }
    }
    const backend = backendFor(env);
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
    if (error instanceof BackendUnavailable) {
      // PS3.4 B.2.3, C.4.1.1.4: the upstream archive could not take or answer it now; the caller may try again.
      console.warn(`agent stream ${meta.kind}: ${error.message}`);
      if (!stream.closed) stream.sendResult({ status: Status.OutOfResources, errorComment: error.message.slice(0, 64) });
      return;
    }
    console.error(`agent stream ${meta.kind} failed`, error);
    if (stream.closed) return;
    stream.sendResult({ status: Status.ProcessingFailure, errorComment: "the edge failed to process the operation" });
  }
}
