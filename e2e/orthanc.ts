// Orthanc from Debian (orthanc + orthanc-dicomweb) started on loopback with
// a config and storage folder of its own: the archive the benchmarks compare
// against, and the upstream server / hospital PACS of the broker tests.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../agent/src/testing/ports";

const ORTHANC = "/usr/sbin/Orthanc";
const DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so";

export interface Orthanc {
  /** Its REST API, e.g. http://127.0.0.1:41234 */
  http: string;
  /** Its DICOMweb root (no trailing slash). */
  dicomweb: string;
  aeTitle: string;
  dicomPort: number;
  pid: number;
  /** What it printed so far (PUT /tools/log-level "verbose" for each DICOM request). */
  log(): string;
  /** Deletes every patient through the REST API: an empty store again. */
  empty(): Promise<void>;
  stop(): Promise<void>;
}

export interface OrthancOptions {
  /** Remote AEs it may send to (C-MOVE destinations) and accept from: title -> [host, port]. */
  modalities?: Record<string, [string, number]>;
  /** Added to (and overriding) the generated configuration. */
  config?: Record<string, unknown>;
}

/** Installs Orthanc and its DICOMweb plugin from Debian when they are missing (needs root, as CI has). */
export function ensureOrthanc(): void {
  if (existsSync(ORTHANC) && existsSync(DICOMWEB_PLUGIN)) return;
  const run = (args: string[]) => spawnSync("apt-get", args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  const installed = run(["install", "-y", "orthanc", "orthanc-dicomweb"]);
  if (installed.status !== 0 && (run(["update"]).status !== 0 || run(["install", "-y", "orthanc", "orthanc-dicomweb"]).status !== 0)) {
    throw new Error("Orthanc is not installed and `apt-get install -y orthanc orthanc-dicomweb` failed");
  }
}

export async function startOrthanc(options: OrthancOptions = {}): Promise<Orthanc> {
  ensureOrthanc();
  const dir = await mkdtemp(join(tmpdir(), "dicom-edge-orthanc-"));
  const httpPort = await freePort();
  const dicomPort = await freePort();
  const aeTitle = "ORTHANC";
  const config = {
    Name: "dicom-edge-comparison",
    StorageDirectory: join(dir, "storage"),
    IndexDirectory: join(dir, "index"),
    Plugins: [DICOMWEB_PLUGIN],
    HttpPort: httpPort,
    DicomPort: dicomPort,
    DicomAet: aeTitle,
    // Loopback only: no remote access, so no credentials are needed.
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    OrthancExplorerEnabled: false,
    WebDavEnabled: false,
    DicomAlwaysAllowEcho: true,
    DicomAlwaysAllowStore: true,
    DicomAlwaysAllowFind: true,
    DicomAlwaysAllowGet: true,
    DicomAlwaysAllowMove: true,
    DicomModalities: Object.fromEntries(Object.entries(options.modalities ?? {}).map(([title, [host, port]]) => [title, [title, host, port]])),
    DicomWeb: { Enable: true, Root: "/dicom-web/", EnableWado: false, Host: "127.0.0.1" },
    SaveJobs: false,
    ...options.config,
  };
  const configPath = join(dir, "orthanc.json");
  await writeFile(configPath, JSON.stringify(config, null, 2));
  // TCP_NODELAY is read by the DCMTK inside Orthanc, as by every dcmtk tool.
  const child = spawn(ORTHANC, [configPath], { cwd: dir, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TCP_NODELAY: "1" } });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const http = `http://127.0.0.1:${httpPort}`;
  const exited = new Promise((r) => child.once("exit", r));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${http}/system`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`Orthanc did not come up:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    http,
    dicomweb: `${http}/dicom-web`,
    aeTitle,
    dicomPort,
    pid: child.pid!,
    log: () => log,
    async empty() {
      const patients = (await (await fetch(`${http}/patients`)).json()) as string[];
      for (const id of patients) {
        const res = await fetch(`${http}/patients/${id}`, { method: "DELETE" });
        if (!res.ok) throw new Error(`Orthanc DELETE /patients/${id}: ${res.status}`);
      }
    },
    stop,
  };
}
