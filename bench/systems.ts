// The two archives under comparison, behind one shape: where their DIMSE
// and DICOMweb services listen, how to empty them, and which processes to
// watch for memory. Both start empty, on loopback, with TCP_NODELAY=1; the
// edge's broker modes stand in front of the same Orthanc.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStorescp, type Storescp } from "../agent/src/testing/dcmtk";
import { startAgent, type Agent } from "../e2e/agent";
import { startOrthanc, type Orthanc } from "../e2e/orthanc";
import { startStack, type Stack } from "../e2e/stack";
import { processGroup } from "./memory";

export interface System {
  name: string;
  dimse: { aeTitle: string; port: number };
  /** DICOMweb root, no trailing slash. */
  dicomweb: string;
  /** The processes whose memory is reported, by role. */
  processes(): Record<string, number>;
  deleteStudy(study: string): Promise<void>;
  empty(): Promise<void>;
  stop(): Promise<void>;
}

/** The C-MOVE destination both archives know, as BENCHSCP. */
export const DESTINATION = "BENCHSCP";

export interface Systems {
  /** The agent answers C-STORE once the edge has the instance in R2 and D1. */
  edge: System;
  /** The same edge through a second agent that answers once the instance is fsynced in its spool. */
  edgeSpool: System;
  orthanc: System;
  /**
   * The edge as a broker in front of that same Orthanc (issue 9): as a
   * DICOMweb proxy, and through an agent to Orthanc as its PACS. Their data
   * is Orthanc's.
   */
  brokers: { dicomweb: System; dimse: System };
  destination: Storescp;
  stop(): Promise<void>;
}

export async function startSystems(): Promise<Systems> {
  const received = await mkdtemp(join(tmpdir(), "dicom-edge-bench-scp-"));
  const destination = await startStorescp(DESTINATION, received);
  const spool = await mkdtemp(join(tmpdir(), "dicom-edge-bench-spool-"));
  const stack = await startStack({ runtime: "miniflare" });
  const agent = await startAgent({ base: stack.base, id: "e2e", aeTable: [{ title: DESTINATION, host: "127.0.0.1", port: destination.port, tls: false }] });
  const spoolAgent = await startAgent({ base: stack.base, id: "e2e-spool", ackMode: "spool", spoolDir: spool });
  const orthanc = await startOrthanc({ modalities: { [DESTINATION]: ["127.0.0.1", destination.port] } });
  const edge = edgeSystem("dicom-edge", stack, agent);
  const edgeSpool = edgeSystem("dicom-edge (spool ack)", stack, spoolAgent);
  const other = orthancSystem(orthanc);
  const proxy = await startStack({ runtime: "miniflare", vars: { BACKEND: "dicomweb", DICOMWEB_UPSTREAM_URL: orthanc.dicomweb } });
  const proxyAgent = await startAgent({ base: proxy.base, id: "e2e-broker" });
  const pacsProxy = await startStack({ runtime: "miniflare", vars: { BACKEND: "dimse", DIMSE_AGENT: "e2e-broker-pacs", DIMSE_PACS: orthanc.aeTitle } });
  const pacsAgent = await startAgent({ base: pacsProxy.base, id: "e2e-broker-pacs", aeTable: [{ title: orthanc.aeTitle, host: "127.0.0.1", port: orthanc.dicomPort, tls: false }] });
  const brokers = {
    dicomweb: brokerSystem(edgeSystem("dicom-edge as DICOMweb proxy of Orthanc", proxy, proxyAgent), other),
    dimse: brokerSystem(edgeSystem("dicom-edge with Orthanc as its PACS", pacsProxy, pacsAgent), other),
  };
  return {
    edge,
    edgeSpool,
    orthanc: other,
    brokers,
    destination,
    async stop() {
      await Promise.allSettled([spoolAgent.stop(), edge.stop(), brokers.dicomweb.stop(), brokers.dimse.stop(), other.stop(), destination.stop()]);
      await Promise.all([received, spool].map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}

function edgeSystem(name: string, stack: Stack, agent: Agent): System {
  const dicomweb = `${stack.base}/dicomweb`;
  const deleteStudy = async (study: string) => {
    const res = await fetch(`${dicomweb}/studies/${study}`, { method: "DELETE" });
    await res.arrayBuffer();
    if (res.status !== 204 && res.status !== 200 && res.status !== 404) throw new Error(`dicom-edge DELETE study: ${res.status}`);
  };
  return {
    name,
    dimse: { aeTitle: agent.aeTitle, port: agent.port },
    dicomweb,
    processes: () => ({
      workerd: processGroup(stack.pgid).find((p) => p.name === "workerd")?.pid ?? 0,
      // tsx runs the agent in a child node process.
      agent: processGroup(agent.pid).find((p) => p.ppid === agent.pid)?.pid ?? agent.pid,
    }),
    deleteStudy,
    async empty() {
      for (;;) {
        const res = await fetch(`${dicomweb}/studies?limit=1000&includefield=0020000D`, { headers: { Accept: "application/dicom+json" } });
        const studies = (await res.json()) as { "0020000D": { Value: [string] } }[];
        if (studies.length === 0) return;
        const queue = studies.map((s) => s["0020000D"].Value[0]);
        const worker = async () => {
          for (let study = queue.shift(); study; study = queue.shift()) await deleteStudy(study);
        };
        await Promise.all([worker(), worker(), worker(), worker()]);
      }
    },
    async stop() {
      await agent.stop();
      await stack.stop();
    },
  };
}

/** A broker's frontends, with the data (and so its emptying) of the archive behind it. */
function brokerSystem(broker: System, upstream: System): System {
  return { ...broker, deleteStudy: (study) => upstream.deleteStudy(study), empty: () => upstream.empty() };
}

function orthancSystem(orthanc: Orthanc): System {
  return {
    name: "Orthanc",
    dimse: { aeTitle: orthanc.aeTitle, port: orthanc.dicomPort },
    dicomweb: orthanc.dicomweb,
    processes: () => ({ Orthanc: orthanc.pid }),
    async deleteStudy(study) {
      const found = (await (await fetch(`${orthanc.http}/tools/lookup`, { method: "POST", body: study })).json()) as { ID: string; Type: string }[];
      for (const { ID, Type } of found) {
        if (Type !== "Study") continue;
        const res = await fetch(`${orthanc.http}/studies/${ID}`, { method: "DELETE" });
        if (!res.ok) throw new Error(`Orthanc DELETE study: ${res.status}`);
      }
    },
    empty: () => orthanc.empty(),
    stop: () => orthanc.stop(),
  };
}
