// The benchmark's data: deterministic (seeded), generated once per size and
// cached under .tmp/ like the e2e corpus.
//   ct     N CT instances of 512x512x16 bit (~0.5 MB), one study, two series
//   study  another 200-instance CT study: the one every retrieve case reads
//   large  one multi-frame instance of ~100 MB
//   small  N small instances (no pixel data) over N/10 studies of two
//          series each, three studies per patient, eight modalities
import { existsSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { corpus, type ManifestEntry } from "../e2e/data/corpus";
import { encodePart10, type Element } from "../shared/src/dicom/testing/encode";
import { ROOT } from "./report";

export interface BenchCorpus {
  ct: ManifestEntry[];
  /** The folder holding exactly the `ct` files (for storescu +sd). */
  ctDir: string;
  study: ManifestEntry[];
  large: ManifestEntry;
  small: SmallCorpus;
}

export interface SmallCorpus {
  dir: string;
  /** File k is instance k. */
  files: string[];
  uid: (kind: "study" | "series" | "sop", ...at: number[]) => string;
  /** The study, series and patient of instance k. */
  studyOf: (k: number) => number;
  patientOf: (study: number) => number;
}

export interface CorpusSizes {
  ct: number;
  study: number;
  largeMb: number;
  small: number;
}

export async function benchCorpus(sizes: CorpusSizes): Promise<BenchCorpus> {
  const ct = await corpus({ ct: sizes.ct, mr: 0, seed: 1 });
  const study = await corpus({ ct: sizes.study, mr: 0, seed: 2 });
  const large = await corpus({ ct: 0, mr: 0, largeMb: sizes.largeMb, seed: 3 });
  return {
    ct: ct.files.filter((f) => f.group === "ct"),
    ctDir: join(ct.dir, "ct"),
    study: study.files.filter((f) => f.group === "ct"),
    large: large.files.find((f) => f.group === "large")!,
    small: await smallCorpus(sizes.small),
  };
}

const PER_STUDY = 10; // two series of five
const MODALITIES = ["CT", "MR", "US", "CR", "DX", "MG", "PT", "NM"];
const SURNAMES = ["Smith", "Müller", "Dupont", "Rossi", "García", "Kowalski", "Nguyen", "Okafor", "Sato", "Larsen"];
const GIVEN = ["Anna", "Hans", "Élodie", "Marco", "Lucía", "Piotr", "Linh", "Chidi", "Yuki", "Freja"];
const uid = (kind: "study" | "series" | "sop", ...at: number[]) => `1.2.826.0.1.3680043.8.498.9.${{ study: 1, series: 2, sop: 3 }[kind]}.${at.join(".")}`;
const studyOf = (k: number) => Math.floor(k / PER_STUDY);
const patientOf = (study: number) => Math.floor(study / 3);

/** Small instance k: a Secondary Capture header without pixel data, a few hundred bytes. */
function smallInstance(k: number): Uint8Array {
  const study = studyOf(k);
  const seriesNo = k % PER_STUDY < PER_STUDY / 2 ? 1 : 2;
  const patient = patientOf(study);
  const day = new Date(Date.UTC(2015, 0, 1) + ((study * 7919) % 3650) * 86400000).toISOString().slice(0, 10).replaceAll("-", "");
  const elements: Element[] = [
    { tag: 0x00080016, vr: "UI", value: "1.2.840.10008.5.1.4.1.1.7" },
    { tag: 0x00080018, vr: "UI", value: uid("sop", k) },
    { tag: 0x00080020, vr: "DA", value: day },
    { tag: 0x00080030, vr: "TM", value: String(80000 + (study % 10) * 1000).padStart(6, "0") },
    { tag: 0x00080050, vr: "SH", value: `ACC${study}` },
    { tag: 0x00080060, vr: "CS", value: MODALITIES[(study + seriesNo) % MODALITIES.length]! },
    { tag: 0x00100010, vr: "PN", value: `${SURNAMES[patient % 10]}${Math.floor(patient / 10)}^${GIVEN[(patient * 7) % 10]}` },
    { tag: 0x00100020, vr: "LO", value: `PID${patient}` },
    { tag: 0x0020000d, vr: "UI", value: uid("study", study) },
    { tag: 0x0020000e, vr: "UI", value: uid("series", study, seriesNo) },
    { tag: 0x00200011, vr: "IS", value: String(seriesNo) },
    { tag: 0x00200013, vr: "IS", value: String(k % PER_STUDY) },
  ];
  return encodePart10({ transferSyntaxUID: "1.2.840.10008.1.2.1", sopClassUID: "1.2.840.10008.5.1.4.1.1.7", sopInstanceUID: uid("sop", k), elements });
}

async function smallCorpus(count: number): Promise<SmallCorpus> {
  const dir = join(ROOT, ".tmp", "bench", `small-${count}`);
  const files = Array.from({ length: count }, (_, k) => join(dir, `${String(k).padStart(6, "0")}.dcm`));
  // Written to a side folder and renamed: the folder exists only when complete.
  if (!existsSync(dir)) {
    const partial = `${dir}.partial`;
    await rm(partial, { recursive: true, force: true });
    await mkdir(partial, { recursive: true });
    for (let k = 0; k < count; k++) await writeFile(join(partial, `${String(k).padStart(6, "0")}.dcm`), smallInstance(k));
    await rename(partial, dir);
  }
  return { dir, files, uid, studyOf, patientOf };
}
