import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { Status } from "@dicom-edge/shared/dicom/status";
import { loadConfig } from "./config/config";
import { findThroughEdge } from "./dimse/c-find";
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from "./dimse/identity";
import type { SendMeta } from "@dicom-edge/shared/tunnel/retrieve";
import type { RetrieveService } from "./dimse/c-get-move";
import { startDimseServer } from "./dimse/server";
import { edgeJwtVerifier, withIdentity } from "./identity/identity";
import { PendingMoves } from "./pacs/pending-moves";
import { isPacsKind, servePacs, type PacsSettings } from "./pacs/serve";
import { serveSend } from "./retrieve/send";
import { Spool } from "./spool/spool";
import { fileMetaInformation } from "./store/file-meta";
import { forwardToEdge, part10 } from "./store/forward";
import { TunnelClient } from "./tunnel/client";


const log = (message: string) => console.log(`${new Date().toISOString()} ${message}`);

const { values } = parseArgs({ options: { config: { type: "string" } } });
const config = await loadConfig(values.config);
const tunnel = new TunnelClient({
  edgeUrl: config.edge.url,
  agentId: config.edge.agentId,
  agentKey: config.edge.agentKey,
  log,
  onConnected: () => spool?.notifyConnected(),
  onOpen: (stream, meta) => {
    if (meta.kind === "send") void serveSend(stream, meta as Partial<SendMeta>, retrieve);
    else if (isPacsKind(meta.kind)) void servePacs(stream, meta, pacs);
    else stream.reset("unknown-kind", `the agent serves no ${meta.kind} streams`);
  },
});
const aeTable = new Map(config.aeTable.map((entry) => [entry.title, entry]));
const retrieve: RetrieveService = {
  link: tunnel,
  aeTitle: config.dimse.aeTitle,
  maxPduLength: config.dimse.maxPduLength,
  timeoutMs: config.dimse.artimTimeoutMs,
  log,
  destination: (title) => aeTable.get(title),
};
// The edge's DIMSE backend (BACKEND=dimse): this agent as the SCU toward a PACS of its AE table.
const moves = new PendingMoves(config.dimse.aeTitle);
const pacs: PacsSettings = {
  aeTitle: config.dimse.aeTitle,
  maxPduLength: config.dimse.maxPduLength,
  destination: (title) => aeTable.get(title),
  moves,
  log,
};
const spool = config.spool.ackMode === "spool" ? new Spool(config.spool.dir, tunnel, log) : undefined;
await spool?.init();

const server = await startDimseServer({
  host: config.dimse.host,
  port: config.dimse.port,
  plain: config.dimse.plain,
  aeTitle: config.dimse.aeTitle,
  maxPduLength: config.dimse.maxPduLength,
  maxAssociations: config.dimse.maxAssociations,
  ...(config.dimse.acceptedCallingAeTitles.length > 0 ? { acceptedCallingAeTitles: config.dimse.acceptedCallingAeTitles } : {}),
  artimTimeoutMs: config.dimse.artimTimeoutMs,
  idleTimeoutMs: config.dimse.idleTimeoutMs,
  identity: { policy: config.identity, verifyJwt: edgeJwtVerifier(tunnel, 10_000) },
  ...(config.tls.cert
    ? {
        tls: {
          port: config.tls.port,
          cert: await readFile(config.tls.cert),
          key: await readFile(config.tls.key),
          ...(config.tls.ca ? { ca: await readFile(config.tls.ca) } : {}),
          requireClientCertificate: config.tls.requireClientCertificate,
        },
      }
    : {}),
  handlers: {
    // C-ECHO answers for the whole chain: success only when the edge and its archive answer.
    async echo() {
      if (!tunnel.connected) return { status: Status.ProcessingFailure, errorComment: "edge unreachable" };
      try {
        const stream = tunnel.open("echo");
        await stream.end();
        return (await stream.result()) as { status: number; errorComment?: string };
      } catch {
        return { status: Status.ProcessingFailure, errorComment: "edge unreachable" };
      }
    },
    // The instances of a C-MOVE the edge's retrieve asked a PACS for (pacs/move.ts) go to that retrieve, not into the archive.
    divert: (ctx) => moves.divert(ctx),
    async store(ctx) {
      // Spooled instances are forwarded later, when a JWT may have expired:
      // the agent checked the write scope now and vouches for them then.
      const meta = fileMetaInformation({
        sopClassUid: ctx.sopClassUid,
        sopInstanceUid: ctx.sopInstanceUid,
        transferSyntaxUid: ctx.transferSyntaxUid,
        implementationClassUid: IMPLEMENTATION_CLASS_UID,
        implementationVersionName: IMPLEMENTATION_VERSION_NAME,
        sourceAeTitle: ctx.callingAeTitle,
      });
      const bytes = part10(meta, ctx.dataset);
      if (spool) return spool.accept(ctx.sopInstanceUid, bytes);
      return forwardToEdge(withIdentity(tunnel, ctx.identity.identity), { sopInstanceUid: ctx.sopInstanceUid, callingAeTitle: ctx.callingAeTitle }, bytes);
    },
    find: (request, signal) => findThroughEdge(tunnel, request, signal),
    retrieve,
  },
  log,
});
tunnel.start();
spool?.start();
log(
  `agent ${config.edge.agentId}: ${config.dimse.aeTitle} on ${config.dimse.host}:${server.port}` +
    (server.tlsPort ? ` (DICOM-TLS on ${server.tlsPort})` : "") +
    `, edge ${config.edge.url}, ack mode ${config.spool.ackMode}, AE table: ${config.aeTable.map((e) => e.title).join(", ") || "empty"}`,
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping`);
  await server.close();
  await spool?.stop();
  await tunnel.stop();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
