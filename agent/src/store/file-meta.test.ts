import { Part10Reader } from "@dicom-edge/shared/dicom/part10-reader";
import { stringValue } from "@dicom-edge/shared/dicom/json";
import { encodeDataset } from "@dicom-edge/shared/dicom/testing/encode";
import { describe, expect, it } from "vitest";
import { fileMetaInformation } from "./file-meta";

describe("fileMetaInformation", () => {
  it("makes a Part-10 header that the reader accepts, followed by the dataset unchanged", () => {
    const dataset = encodeDataset(
      [
        { tag: 0x00080016, vr: "UI", value: "1.2.840.10008.5.1.4.1.1.2" },
        { tag: 0x00080018, vr: "UI", value: "1.2.3.45" },
        { tag: 0x0020000d, vr: "UI", value: "1.2.3" },
        { tag: 0x0020000e, vr: "UI", value: "1.2.3.4" },
      ],
      { explicitVR: false, littleEndian: true },
    );
    const meta = fileMetaInformation({
      sopClassUid: "1.2.840.10008.5.1.4.1.1.2",
      sopInstanceUid: "1.2.3.45",
      transferSyntaxUid: "1.2.840.10008.1.2",
      implementationClassUid: "1.2.826.0.1.3680043.10.1",
      implementationVersionName: "DICOMEDGE",
      sourceAeTitle: "MODALITY ",
    });
    const reader = new Part10Reader();
    reader.write(meta);
    reader.write(dataset);
    const header = reader.end();
    expect(header.datasetOffset).toBe(meta.byteLength);
    expect(header.transferSyntaxUID).toBe("1.2.840.10008.1.2");
    expect(stringValue(header.meta, "00020003")).toBe("1.2.3.45");
    expect(stringValue(header.meta, "00020016")).toBe("MODALITY");
    expect(stringValue(header.dataset, "0020000E")).toBe("1.2.3.4");
    expect(meta.byteLength % 2).toBe(0);
  });
});
