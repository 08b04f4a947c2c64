import { Status } from "@dicom-edge/shared/dicom/status";
import { PACS_STORE, isPacsFailure, parsePacsStoreResult } from "@dicom-edge/shared/tunnel/pacs";
import { BackendUnavailable, type StoreOutcome, type StoreTransaction } from "../backend";
import { statusText, unavailableFor } from "./failures";
import { requestBody } from "../proxied";
import { Uploads } from "../uploads";
import type { AgentPacsLink } from "./link";

/** Instances on their way to the PACS at once (one association each) while the caller reads the next. */
const MAX_STORES = 4;

/**
 * STOW-RS and C-STORE onto the PACS through the agent: each instance
 * streams to the agent as it arrives and goes on as one C-STORE-RQ (PS3.4
 * B.2) in its own SOP Class and transfer syntax; its outcome is the PACS's
 * C-STORE-RSP status. The PACS keeps each instance once it answered, so
 * instances become visible one by one rather than on `commit`, and
 * `rollback` cannot take back what the PACS stored (as with an upstream
 * DICOMweb server, PS3.18 10.5.3).
 */
export class PacsStore implements StoreTransaction {
  private readonly stores = new Uploads(MAX_STORES);

  constructor(private readonly link: AgentPacsLink) {}

  async add(body: AsyncIterable<Uint8Array>, expect: { study?: string }): Promise<StoreOutcome> {
    return (await this.receive(body, expect)).outcome;
  }

  async receive(body: AsyncIterable<Uint8Array>, expect: { study?: string }): Promise<{ outcome: Promise<StoreOutcome> }> {
    const { stream: request, read } = requestBody(body);
    const outcome = this.link
      .call("store", { kind: PACS_STORE, ...(expect.study !== undefined ? { study: expect.study } : {}) }, request)
      .then((answer) => this.outcomeOf(answer.result));
    // The caller reads its next instance once this one's bytes are all on their way.
    await Promise.race([read, outcome.catch(() => undefined)]);
    await this.stores.add(outcome);
    return { outcome };
  }

  async commit(): Promise<void> {
    await this.stores.settle();
  }

  async rollback(): Promise<void> {
    await this.commit();
  }

  /** The PACS's C-STORE-RSP status (PS3.4 B.2.3) as the instance's outcome; no status at all is BackendUnavailable. */
  private outcomeOf(value: unknown): StoreOutcome {
    const result = parsePacsStoreResult(value);
    if (!result) throw new BackendUnavailable(502, `agent ${this.link.config.agent} answered the store without a status`);
    if (isPacsFailure(result)) throw unavailableFor(result);
    const named = { ...(result.sop ? { sop: result.sop } : {}), ...(result.sopClass ? { sopClass: result.sopClass } : {}) };
    const pacs = this.link.config.pacs;
    // PS3.4 B.2.3: 0000 Success, Bxxx stored with a warning; anything else was not stored.
    const warning = (result.status & 0xf000) === 0xb000;
    if (result.status !== Status.Success && !warning) {
      return { ok: false, reason: result.status, message: `${pacs} refused it with ${statusText(result.status, result.errorComment)}`, ...named };
    }
    const { study, series, sop, sopClass } = result;
    if (!study || !series || !sop || !sopClass) {
      return { ok: false, reason: Status.ProcessingFailure, message: `${pacs} answered ${statusText(result.status, result.errorComment)} for an instance without Study, Series and SOP Instance UIDs`, ...named };
    }
    return { ok: true, study, series, sop, sopClass, warnings: warning ? [result.status] : [] };
  }
}
