import { Archive } from "../archive/archive";
import { reportToQueue } from "../archive/study-events";
import type { Env } from "../env";
import { BackendUnavailable, type Backend } from "./backend";
import { InstanceCache } from "./cache";
import { DicomWebBackend } from "./dicomweb/dicomweb-backend";
import { Upstream, upstreamConfig } from "./dicomweb/upstream";
import { dimseConfig } from "./dimse/config";
import { DimseBackend } from "./dimse/dimse-backend";
import { AgentPacsLink } from "./dimse/link";

/** Who is asking, where a backend passes that on (DICOMWEB_UPSTREAM_AUTH=forward). */
export interface Caller {
  /** The request's Authorization header. */
  authorization?: string | undefined;
}

/**
 * The backend every frontend uses, chosen by BACKEND: "archive" (the
 * default: D1 and R2, its study changes reported to the STUDY_EVENTS queue
 * for FHIR Subscriptions), "dicomweb" (an upstream DICOMweb server) or
 * "dimse" (a hospital PACS reached through a connected agent), the
 * proxies reporting what is stored or deleted through the edge. A
 * setting that cannot work is a 503 that says what to set, never a silent
 * fall-back to the archive.
 */
export function backendFor(env: Env, caller: Caller = {}): Backend {
  const report = env.STUDY_EVENTS ? reportToQueue(env.STUDY_EVENTS) : undefined;
  switch (env.BACKEND ?? "archive") {
    case "archive":
      return new Archive(env.DB, env.OBJECTS, report);
    case "dicomweb": {
      const config = upstreamConfig(env);
      if (typeof config === "string") throw new BackendUnavailable(503, config);
      const mtls = env.DICOMWEB_UPSTREAM_MTLS;
      const upstream = new Upstream(config, caller.authorization, mtls ? (request) => mtls.fetch(request) : undefined);
      return new DicomWebBackend(upstream, proxyCache(env, config.base), report);
    }
    case "dimse": {
      const config = dimseConfig(env);
      if (typeof config === "string") throw new BackendUnavailable(503, config);
      return new DimseBackend(new AgentPacsLink(env.AGENT_HUB, config), proxyCache(env, `dimse:${config.agent}/${config.pacs}`), report);
    }
    default:
      throw new BackendUnavailable(503, `BACKEND must be archive, dicomweb or dimse, not ${JSON.stringify(env.BACKEND)}`);
  }
}

/** PROXY_CACHE: off (the default) or r2, copies kept apart per `source`. */
function proxyCache(env: Env, source: string): InstanceCache | undefined {
  if (env.PROXY_CACHE === undefined || env.PROXY_CACHE === "off") return undefined;
  if (env.PROXY_CACHE !== "r2") throw new BackendUnavailable(503, `PROXY_CACHE must be off or r2, not ${JSON.stringify(env.PROXY_CACHE)}`);
  return new InstanceCache(env.OBJECTS, source);
}
