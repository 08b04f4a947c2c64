// Reading back Part-10 files in tests: the data set after the File Meta
// group, as dcmtk's tools and the archive write them.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * The data set of a Part-10 file: what follows the File Meta group
 * (PS3.10 7.1), located by the group length (0002,0000) at byte 132.
 */
export function datasetOf(part10: Uint8Array): Uint8Array {
  const view = new DataView(part10.buffer, part10.byteOffset, part10.byteLength);
  if (new TextDecoder("latin1").decode(part10.subarray(128, 132)) !== "DICM") throw new Error("not a Part-10 file: no DICM prefix");
  if (view.getUint32(132, true) !== 0x00000002) throw new Error("not a Part-10 file: no (0002,0000) first");
  return part10.subarray(144 + view.getUint32(140, true));
}

/**
 * The data sets of the files storescp or getscu wrote into `dir` (with +B,
 * as they arrived), by SOP Instance UID: dcmtk names each file after its
 * modality prefix and SOP Instance UID ("CT.1.2.3").
 */
export async function writtenDatasets(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const name of await readdir(dir)) out.set(name.replace(/^[A-Z]+\./, ""), datasetOf(new Uint8Array(await readFile(join(dir, name)))));
  return out;
}
