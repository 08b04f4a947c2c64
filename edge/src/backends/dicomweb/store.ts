import { numberValue, sequenceItems, stringValue, type DicomJson } from "@dicom-edge/shared/dicom/json";
import { Part10Error, Part10Reader } from "@dicom-edge/shared/dicom/part10-reader";
import { Status } from "@dicom-edge/shared/dicom/status";
import type { StoreOutcome, StoreTransaction } from "../backend";
import { requestBody } from "../proxied";
import { Uploads } from "../uploads";
import type { Upstream } from "./upstream";

/** Instances being sent to the upstream at once while the caller reads the next. */
const MAX_UPLOADS = 4;

/**
 * STOW-RS and C-STORE onto an upstream DICOMweb server (PS3.18 10.5): each
 * instance goes on as its own STOW-RS request while it streams in, the
 * bytes untouched, and its outcome is the upstream's answer for it. The
 * upstream stores each instance as it arrives, so instances become visible
 * one by one rather than on `commit`, and `rollback` cannot take back what
 * the upstream already stored (PS3.18 10.5.3 lets an origin server store
 * some instances of a request and fail others).
 */
export class UpstreamStore implements StoreTransaction {
  private readonly uploads = new Uploads(MAX_UPLOADS);

  constructor(private readonly upstream: Upstream) {}

  async add(body: AsyncIterable<Uint8Array>, expect: { study?: string }): Promise<StoreOutcome> {
    return (await this.receive(body, expect)).outcome;
  }

  async receive(body: AsyncIterable<Uint8Array>, expect: { study?: string }): Promise<{ outcome: Promise<StoreOutcome> }> {
    const boundary = `dicom-edge-${crypto.randomUUID()}`;
    const reader = new Part10Reader();
    let unreadable: string | undefined;
    const encoder = new TextEncoder();
    // One part, streamed as it arrives; the header is read on the way to name the instance.
    const { stream: request, read } = requestBody(body, {
      head: encoder.encode(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
      tail: encoder.encode(`\r\n--${boundary}--\r\n`),
      tap: (chunk) => {
        if (unreadable) return;
        try {
          reader.write(chunk);
        } catch (error) {
          unreadable = error instanceof Part10Error ? error.message : String(error);
        }
      },
    });
    const path = expect.study === undefined ? "/studies" : `/studies/${expect.study}`;
    const outcome = this.upstream
      .call(path, {
        method: "POST",
        headers: { "Content-Type": `multipart/related; type="application/dicom"; boundary=${boundary}`, Accept: "application/dicom+json" },
        body: request,
      })
      .then(async (response) => {
        if (!unreadable) {
          try {
            reader.end();
          } catch (error) {
            unreadable = error instanceof Part10Error ? error.message : String(error);
          }
        }
        return outcomeOf(response.status, await response.text(), reader, unreadable);
      });
    // The caller reads its next instance once this one's bytes are all on their way.
    await Promise.race([read, outcome.catch(() => undefined)]);
    await this.uploads.add(outcome);
    return { outcome };
  }

  async commit(): Promise<void> {
    await this.uploads.settle();
  }

  async rollback(): Promise<void> {
    await this.commit();
  }
}

/** The upstream's Store Instances Response (PS3.18 Table 10.5.3-1) for one instance, as its outcome here. */
function outcomeOf(status: number, text: string, reader: Part10Reader, unreadable: string | undefined): StoreOutcome {
  const dataset = reader.header.dataset;
  const study = dataset && stringValue(dataset, "0020000D");
  const series = dataset && stringValue(dataset, "0020000E");
  const sop = (dataset && stringValue(dataset, "00080018")) ?? (reader.header.meta && stringValue(reader.header.meta, "00020003"));
  const sopClass = (dataset && stringValue(dataset, "00080016")) ?? (reader.header.meta && stringValue(reader.header.meta, "00020002"));
  const named = { ...(sop ? { sop } : {}), ...(sopClass ? { sopClass } : {}) };
  let response: DicomJson | undefined;
  try {
    const parsed = text ? (JSON.parse(text) as DicomJson | DicomJson[]) : undefined;
    response = Array.isArray(parsed) ? parsed[0] : parsed;
  } catch {
    response = undefined;
  }
  const failed = response && sequenceItems(response, "00081198")[0];
  if (failed || status >= 400) {
    const reason = (failed && numberValue(failed, "00081197")) ?? (unreadable ? Status.CannotUnderstand : Status.ProcessingFailure);
    const why = unreadable ? `not a valid DICOM Part-10 object: ${unreadable}` : `the upstream DICOMweb server refused it (${status}${failed ? `, FailureReason ${reason.toString(16).padStart(4, "0")}` : ""})`;
    return { ok: false, reason, message: why, ...named };
  }
  const stored = response && sequenceItems(response, "00081199")[0];
  if (!stored || !study || !series || !sop || !sopClass) {
    return { ok: false, reason: Status.ProcessingFailure, message: `the upstream DICOMweb server answered ${status} without naming the instance stored`, ...named };
  }
  const warning = numberValue(stored, "00081196");
  return { ok: true, study, series, sop, sopClass, warnings: warning === undefined ? [] : [warning] };
}
