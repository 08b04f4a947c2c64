/**
 * ImagingStudy.series.bodySite (R4: a Coding, SNOMED CT, example binding)
 * from Body Part Examined (0018,0015). Only the Defined Terms whose concept
 * in CID 4031 "Common Anatomic Region" (PS3.16, the correspondence of PS3.16
 * Annex L) is unambiguous are mapped, with that concept's SNOMED CT code
 * and meaning; any other value (local terms, or BRAIN, which CID 4031 has
 * no concept for) gets no bodySite rather than a guess.
 */
import type { Coding } from "./r4";

export const SNOMED_CT = "http://snomed.info/sct";

const BODY_PARTS: Readonly<Record<string, readonly [code: string, display: string]>> = {
  ABDOMEN: ["818981001", "Abdomen"],
  ABDOMENPELVIS: ["818982008", "Abdomen and Pelvis"],
  ANKLE: ["70258002", "Ankle joint"],
  BLADDER: ["89837001", "Bladder"],
  BREAST: ["76752008", "Breast"],
  CALCANEUS: ["80144004", "Calcaneus"],
  CHEST: ["816094009", "Chest"],
  CHESTABDOMEN: ["416550000", "Chest and Abdomen"],
  CHESTABDPELVIS: ["416775004", "Chest, Abdomen and Pelvis"],
  CLAVICLE: ["51299004", "Clavicle"],
  COCCYX: ["64688005", "Coccyx"],
  COLON: ["71854001", "Colon"],
  CSPINE: ["122494005", "Cervical spine"],
  DUODENUM: ["38848004", "Duodenum"],
  ELBOW: ["16953009", "Elbow joint"],
  ESOPHAGUS: ["32849002", "Esophagus"],
  EYE: ["81745001", "Eye"],
  FEMUR: ["71341001", "Femur"],
  FIBULA: ["87342007", "Fibula"],
  FINGER: ["7569003", "Finger"],
  FOOT: ["56459004", "Foot"],
  FOREARM: ["14975008", "Forearm"],
  GALLBLADDER: ["28231008", "Gallbladder"],
  HAND: ["85562004", "Hand"],
  HEAD: ["69536005", "Head"],
  HEADNECK: ["774007", "Head and Neck"],
  HEART: ["80891009", "Heart"],
  HIP: ["29836001", "Hip"],
  HUMERUS: ["85050009", "Humerus"],
  KNEE: ["72696002", "Knee"],
  LARYNX: ["4596009", "Larynx"],
  LSPINE: ["122496007", "Lumbar spine"],
  MANDIBLE: ["91609006", "Mandible"],
  MEDIASTINUM: ["72410000", "Mediastinum"],
  NECK: ["45048000", "Neck"],
  PANCREAS: ["15776009", "Pancreas"],
  PELVIS: ["816092008", "Pelvis"],
  PROSTATE: ["41216001", "Prostate"],
  RECTUM: ["34402009", "Rectum"],
  RIB: ["113197003", "Rib"],
  SACRUM: ["54735007", "Sacrum"],
  SCAPULA: ["79601000", "Scapula"],
  SHOULDER: ["16982005", "Shoulder"],
  SKULL: ["89546000", "Skull"],
  SPINE: ["421060004", "Spine"],
  STERNUM: ["56873002", "Sternum"],
  STOMACH: ["69695003", "Stomach"],
  THIGH: ["68367000", "Thigh"],
  THUMB: ["76505004", "Thumb"],
  TOE: ["29707007", "Toe"],
  TRACHEA: ["44567001", "Trachea"],
  TSPINE: ["122495006", "Thoracic spine"],
  WHOLEBODY: ["38266002", "Entire body"],
  WRIST: ["74670003", "Wrist joint"],
  ZYGOMA: ["13881006", "Zygoma"],
};

/** The SNOMED CT Coding of a Body Part Examined value, or undefined when it has no reliable one. */
export function bodySite(bodyPartExamined: string | undefined): Coding | undefined {
  const entry = bodyPartExamined ? BODY_PARTS[bodyPartExamined.trim().toUpperCase()] : undefined;
  return entry && { system: SNOMED_CT, code: entry[0], display: entry[1] };
}
