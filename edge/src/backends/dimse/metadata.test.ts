// The dimse backend's metadata of one retrieved instance (metadata.ts); the
// C-GET around it is retrieve.ts's, tested in dimse-backend.test.ts.
import { Part10Reader } from "@dicom-edge/shared/dicom/part10-reader";
import { describe, expect, it } from "vitest";
import { CT, instance } from "../../../test/instances";
import { BackendUnavailable } from "../backend";
import { instanceMetadata } from "./metadata";

/** `bytes` as a retrieved instance's body in small chunks; `state` tells how it ended. */
function retrieved(bytes: Uint8Array, sop = "1.2.3.4") {
  const state = { closed: false, cancelled: false };
  let at = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) {
        state.closed = true;
        controller.close();
        return;
      }
      controller.enqueue(bytes.slice(at, (at += 7)));
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { instance: { sopClass: CT, sop, transferSyntax: "1.2.840.10008.1.2.1", body }, state };
}

describe("dimse metadata of a retrieved instance", () => {
  it("is the archive's DICOM JSON of the whole body, Pixel Data as a BulkDataURI relative to the instance", async () => {
    const bytes = instance({ study: "1.2", series: "1.2.3", sop: "1.2.3.4", rows: 64, columns: 64 });
    const { instance: retrievedInstance, state } = retrieved(bytes);
    const entry = await instanceMetadata(retrievedInstance, "PACS");
    expect(state.closed).toBe(true);
    expect(entry).toMatchObject({ study: "1.2", series: "1.2.3", sop: "1.2.3.4" });
    const reader = new Part10Reader();
    reader.write(bytes);
    expect(entry.json).toBe(JSON.stringify(reader.end().dataset));
    expect(JSON.parse(entry.json)["7FE00010"]).toEqual({ vr: "OW", BulkDataURI: "bulkdata/7FE00010" });
  });

  it("is a 502 for a body that is not DICOM or names no instance, and stops reading it", async () => {
    const garbage = retrieved(new TextEncoder().encode("x".repeat(200)));
    const error = await instanceMetadata(garbage.instance, "PACS").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailable);
    expect((error as BackendUnavailable).httpStatus).toBe(502);
    expect((error as BackendUnavailable).message).toMatch(/^PACS sent instance 1\.2\.3\.4 that is not DICOM Part-10: no "DICM"/);
    expect(garbage.state).toEqual({ closed: false, cancelled: true });

    const anonymous = retrieved(instance({ study: "1.2", sop: "1.2.3.5", withoutSop: true }), "1.2.3.5");
    const missing = await instanceMetadata(anonymous.instance, "PACS").catch((e: unknown) => e);
    expect((missing as BackendUnavailable).httpStatus).toBe(502);
    expect((missing as BackendUnavailable).message).toMatch(/without its Study, Series and SOP Instance UIDs/);
  });
});
