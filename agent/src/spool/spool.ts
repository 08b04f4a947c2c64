import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { Status } from "@dicom-edge/shared/dicom/status";
import { nextDelay } from "@dicom-edge/shared/tunnel/backoff";
import { NOT_AUTHORIZED, type TunnelIdentity } from "@dicom-edge/shared/tunnel/identity";
import { coalesce } from "@dicom-edge/shared/bytes";
import { withIdentity } from "../identity/identity";
import { forwardToEdge, type EdgeLink, type StoreStatus } from "../store/forward";

/**
 * Spooled instances were acknowledged after the agent checked the write
 * scope of their association (dimse/server.ts); it vouches for them when
 * they drain, possibly long after a caller's JWT expired.
 */
const SPOOL_IDENTITY: TunnelIdentity = { kind: "agent", subject: "spool", scopes: ["write"] };

/**
 * The spool (ack mode "spool"): a C-STORE is acknowledged once its Part-10
 * bytes are fsynced to local disk, and the queue drains to the edge in
 * arrival order whenever the tunnel is up. Layout under the spool folder:
 * `incoming/` (being written; anything left there after a crash was never
 * acknowledged and is removed), `queue/` (acknowledged, waiting for the
 * edge), `failed/` (refused by the edge for good, kept for an operator).
 */
export class Spool {
  private readonly incoming: string;
  private readonly queue: string;
  private readonly failed: string;
  private sequence = 0;
  private wake: (() => void) | undefined;
  private running = false;
  private draining: Promise<void> | undefined;

  constructor(
    dir: string,
    private readonly link: EdgeLink & { connected: boolean },
    private readonly log: (message: string) => void = () => undefined,
  ) {
    this.incoming = join(dir, "incoming");
    this.queue = join(dir, "queue");
    this.failed = join(dir, "failed");
  }

  async init(): Promise<void> {
    for (const dir of [this.incoming, this.queue, this.failed]) await mkdir(dir, { recursive: true });
    for (const name of await readdir(this.incoming)) await unlink(join(this.incoming, name));
    await fsyncDir(this.incoming);
  }

  /**
   * Writes one instance durably; Success only once it is on disk. The file
   * name orders the queue and names the instance (a hash of its SOP
   * Instance UID), so that two versions of one instance never drain at once.
   */
  async accept(sopInstanceUid: string, chunks: AsyncIterable<Uint8Array>): Promise<StoreStatus> {
    const name = `${Date.now().toString().padStart(15, "0")}-${String(this.sequence++).padStart(9, "0")}-${instanceKey(sopInstanceUid)}-${randomUUID()}.dcm`;
    const partial = join(this.incoming, name);
    const file = await open(partial, "wx");
    try {
      // PDV fragments are often 16 KiB: one write each would be a syscall each.
      for await (const chunk of coalesce(chunks, WRITE_BYTES)) await file.write(chunk);
      await file.sync();
    } catch (error) {
      await file.close();
      await unlink(partial).catch(() => undefined);
      this.log(`spool write failed: ${error instanceof Error ? error.message : String(error)}`);
      return { status: Status.OutOfResources, errorComment: "spool write failed" };
    }
    await file.close();
    // The rename makes the instance part of the queue; syncing the folder makes the rename durable.
    await rename(partial, join(this.queue, name));
    await fsyncDir(this.queue);
    this.wake?.();
    return { status: Status.Success };
  }

  /** Drains the queue to the edge until `stop()`. */
  start(): void {
    this.running = true;
    this.draining = this.drain();
  }

  notifyConnected(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.draining;
  }

  /** Instances waiting for the edge. */
  async pending(): Promise<number> {
    return (await readdir(this.queue)).length;
  }

  private async drain(): Promise<void> {
    let failures = 0;
    while (this.running) {
      if (!this.link.connected) {
        await this.sleep(1000);
        continue;
      }
      // One listing per pass, not per instance: a queue of 10,000 would
      // otherwise be read and sorted 10,000 times.
      const names = (await readdir(this.queue)).sort();
      if (names.length === 0) {
        await this.sleep(60_000);
        continue;
      }
      if (await this.forwardAll(names)) failures = 0;
      else await this.sleep(nextDelay(failures++));
    }
  }

  /**
   * Forwards `names` in queue order, DRAIN_STREAMS at a time, each once the
   * versions of its instance ahead of it are through. Stops at the first
   * instance the edge could not take for now (false: try again later).
   */
  private async forwardAll(names: string[]): Promise<boolean> {
    const inFlight = new Set<string>();
    let ok = true;
    const waiting: (() => void)[] = [];
    const worker = async () => {
      while (this.running && ok) {
        const index = names.findIndex((name) => !inFlight.has(keyOf(name)));
        if (index < 0) {
          if (names.length === 0) return;
          // Only later versions of instances in flight are left: wait for one to end.
          await new Promise<void>((resolve) => waiting.push(resolve));
          continue;
        }
        const [name] = names.splice(index, 1);
        inFlight.add(keyOf(name!));
        ok = (await this.forward(name!)) && ok;
        inFlight.delete(keyOf(name!));
        for (const wake of waiting.splice(0)) wake();
      }
    };
    await Promise.all(Array.from({ length: DRAIN_STREAMS }, worker));
    return ok;
  }

  /** One spooled instance to the edge; false when it should be tried again later. */
  private async forward(name: string): Promise<boolean> {
    const path = join(this.queue, name);
    // Read in one buffer of the file's size up to 1 MiB: a fixed 1 MiB buffer per file would make small instances mostly garbage.
    const { size } = await stat(path);
    const bytes = createReadStream(path, { highWaterMark: Math.max(1, Math.min(size, 1 << 20)) });
    const result = await forwardToEdge(withIdentity(this.link, SPOOL_IDENTITY), { source: "spool" }, bytes);
    if (isStored(result.status)) {
      await unlink(path);
      return true;
    }
    if (isPermanent(result.status)) {
      this.log(`edge refused spooled ${name}: 0x${result.status.toString(16)} ${result.errorComment ?? ""}; kept in failed/`);
      await rename(path, join(this.failed, name));
      return true;
    }
    return false;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }
}

/** Success, or a warning: the edge holds the instance (PS3.4 B.2.3: 0000, B000, B006, B007). */
function isStored(status: number): boolean {
  return status === Status.Success || (status & 0xf000) === 0xb000;
}

/** A9xx, Cxxx, 0122 and 0124 will not change on retry; A7xx and 0110 may. */
function isPermanent(status: number): boolean {
  return (status & 0xff00) === 0xa900 || (status & 0xf000) === 0xc000 || status === Status.SOPClassNotSupported || status === NOT_AUTHORIZED;
}

/** Spooled instances sent to the edge at once (the edge takes 16 streams per agent). */
const DRAIN_STREAMS = 4;
const WRITE_BYTES = 256 * 1024;

/** A short, file-name-safe name for a SOP Instance UID (FNV-1a, 32 bits, hex). */
export function instanceKey(sopInstanceUid: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < sopInstanceUid.length; i++) hash = Math.imul(hash ^ sopInstanceUid.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, "0");
}

/** The instance key in a queue file's name (see `accept`). */
function keyOf(name: string): string {
  return name.split("-")[2] ?? name;
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
