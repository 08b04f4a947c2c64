// A pacs-get or C-MOVE-to-the-agent retrieve run the way the edge reads it:
// the framed stream (shared/src/tunnel/pacs.ts) split back into instances.
import { GetFrameDecoder, type GetInstanceHeader, type PacsGetResult } from "@dicom-edge/shared/tunnel/pacs";
import type { PacsSettings } from "../pacs/association.ts";
import type { pacsGet } from "../pacs/get.ts";

export interface RetrievedInstance {
  header: GetInstanceHeader;
  /** The Part-10 object the agent framed: its File Meta group, then the data set as the PACS sent it. */
  bytes: Uint8Array;
}

/** Runs `run` toward `pacs` and returns its result with the instances it wrote; `onWrite` sees each write. */
export async function retrieveFrom(
  run: typeof pacsGet,
  settings: PacsSettings,
  pacs: string,
  scope: { study: string; series?: string; sop?: string },
  signal = new AbortController().signal,
  onWrite?: () => void,
): Promise<{ result: PacsGetResult; instances: RetrievedInstance[] }> {
  const decoder = new GetFrameDecoder();
  const instances: RetrievedInstance[] = [];
  let parts: Uint8Array[] = [];
  const result = await run(
    settings,
    { pacs, timeoutMs: 10_000, ...scope },
    async (bytes) => {
      onWrite?.();
      for (const frame of decoder.push(bytes)) {
        if (frame.type === "instance") instances.push({ header: frame.header, bytes: new Uint8Array() });
        else if (frame.type === "data") parts.push(frame.bytes.slice());
        else {
          instances.at(-1)!.bytes = Buffer.concat(parts);
          parts = [];
        }
      }
    },
    signal,
  );
  return { result, instances };
}
