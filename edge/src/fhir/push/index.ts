/**
 * Push to an external FHIR server (DESIGN: archive change -> optional push
 * of Patient/ImagingStudy): configuration (config.ts), authentication
 * (client.ts, token.ts), the push (push.ts) and its queue messages
 * (queue.ts).
 */
export { pushConfig, isPushConfigError, type PushConfig, type PushAuth } from "./config";
export { PushError, type PushErrorCode } from "./errors";
export { pushStudyChange, pushStudy, pushStudyDeleted, type StudyChange, type PushOutcome } from "./push";
export { queuePushes, onFhirPush, splitPushMessages, isFhirPushMessage, type FhirPushMessage } from "./queue";
