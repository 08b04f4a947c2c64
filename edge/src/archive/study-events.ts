import type { DicomJson } from "@dicom-edge/shared/dicom/json";
import type { Query } from "@dicom-edge/shared/query/model";

/**
 * "Study X changed": what the archive reports after a D1 commit that added,
 * replaced or removed instances of a study (DESIGN: archive change -> FHIR
 * Subscription notifications). The archive reports; who listens (the
 * STUDY_EVENTS queue, edge/src/fhir/subscription/notify.ts) is wired in
 * backends/select.ts.
 */
export interface StudyChange {
  study: string;
  /**
   * "stored": instances were added, or replaced by different ones (a re-sent
   * instance whose index entry is the same as the stored one is no change);
   * "deleted": instances were removed, and the study may or may not remain.
   */
  change: "stored" | "deleted";
  /**
   * For "deleted": the study as the index held it before the delete (the
   * study-level search result), so criteria can still be matched once the
   * study is gone.
   */
  before?: DicomJson;
}

/** The message on the STUDY_EVENTS queue. */
export interface StudyEvent extends StudyChange {
  /** When the commit happened, ms since the epoch. */
  at: number;
}

/** Receives the changes of one commit or delete. Never throws: a lost report must not undo a store. */
export type StudyChangeReporter = (changes: StudyChange[]) => Promise<void>;

/** Queues allow at most 100 messages per sendBatch. */
const SEND_BATCH = 100;
/** Queues take messages up to 128 KB; a study's attributes rarely come near this. */
const MAX_BEFORE_BYTES = 32 * 1024;
/**
 * What a larger `before` keeps: the patient's identity and the study keys
 * a criteria can name (PatientID, IssuerOfPatientID, StudyInstanceUID,
 * AccessionNumber, StudyDate, StudyTime, ModalitiesInStudy).
 */
const BEFORE_KEYS = ["00100020", "00100021", "0020000D", "00080050", "00080020", "00080030", "00080061"];

/** The change as a message: with its `before` cut to the keys that matter when it would be too large. */
function messageOf(change: StudyChange, at: number): StudyEvent {
  const before = change.before;
  if (!before || JSON.stringify(before).length <= MAX_BEFORE_BYTES) return { ...change, at };
  return { ...change, before: Object.fromEntries(BEFORE_KEYS.filter((tag) => before[tag]).map((tag) => [tag, before[tag]!])), at };
}

/**
 * Reports to a Cloudflare Queue, one message per changed study. A failed send
 * is logged and dropped: the instances are durable already, and the store
 * must answer success (the notification is lost, the data is not).
 */
export function reportToQueue(queue: Queue<StudyEvent>): StudyChangeReporter {
  return async (changes) => {
    if (changes.length === 0) return;
    const at = Date.now();
    try {
      for (let i = 0; i < changes.length; i += SEND_BATCH) {
        await queue.sendBatch(changes.slice(i, i + SEND_BATCH).map((change) => ({ body: messageOf(change, at), contentType: "json" as const })));
      }
    } catch (error) {
      console.error(`study events for ${changes.map((c) => c.study).join(", ")} not queued`, error);
    }
  };
}

/** A study-level Query for exactly these studies: each study's attributes as QIDO-RS returns them. */
export function studiesQuery(uids: readonly string[]): Query {
  return {
    level: "study",
    matches: [{ kind: "uid-list", tag: "0020000D", vr: "UI", uids: [...uids] }],
    includeFields: "all",
    fuzzy: false,
    offset: 0,
    warnings: [],
  };
}
