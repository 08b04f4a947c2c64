import { Status } from "@dicom-edge/shared/dicom/status";
import type { Backend } from "../backends/backend";

/** What the agent answers its DIMSE peer with (PS3.7 9.1.1.1.9, 9.1.5.1.4). */
export interface DimseOutcome {
  status: number;
  errorComment?: string;
}

/** C-ECHO at the agent is the backend's health: success only when its stores answer. */
export async function echoOutcome(backend: Backend): Promise<DimseOutcome> {
  const health = await backend.health();
  if (health.ok) return { status: Status.Success };
  const failed = Object.entries(health.checks)
    .filter(([, check]) => !check.ok)
    .map(([name]) => name);
  return { status: Status.ProcessingFailure, errorComment: `archive unavailable: ${failed.join(", ")}`.slice(0, 64) };
}

/**
 * C-STORE at the agent: the Part-10 bytes the agent built (File Meta
 * Information from the presentation context, then the dataset as received)
 * go through the same archive code as STOW-RS, and the answer comes only
 * once the instance is durable in R2 and D1.
 */
export async function storeOutcome(backend: Backend, bytes: AsyncIterable<Uint8Array>): Promise<DimseOutcome> {
  const transaction = backend.store();
  let outcome;
  try {
    outcome = await transaction.add(bytes, {});
  } catch (error) {
    await transaction.rollback();
    throw error;
  }
  if (!outcome.ok) {
    await transaction.rollback();
    return { status: outcome.reason, errorComment: outcome.message.slice(0, 64) };
  }
  await transaction.commit();
  // PS3.4 B.2.3: B000 when the archive coerced what it indexed; the object is stored unchanged.
  return outcome.warnings.length > 0 ? { status: outcome.warnings[0]! } : { status: Status.Success };
}
