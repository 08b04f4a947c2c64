import { EXPLICIT_VR_LITTLE_ENDIAN, transferSyntax } from "@dicom-edge/shared/dicom/transfer-syntax";
import type { Backend, Scope, StoredInstance } from "../../backends/backend";
import { negotiateRequest } from "../accept/accept";
import { DicomWebError } from "../errors";
import { multipartStream, newBoundary, type MultipartSourcePart } from "../multipart/writer";
import { rangesStream } from "./byte-ranges";
import { instancesOf, instanceUrl } from "./resources";

const OCTET_STREAM = "application/octet-stream";

/**
 * The media type and transfer syntax of an instance's pixel data as it is
 * stored (PS3.18 Table 8.7.3-2/-3). Native pixel data is the same bytes in
 * every little endian syntax, implicit or deflated included, so it is named
 * Explicit VR Little Endian, the default of application/octet-stream.
 */
export function pixelMediaType(instance: StoredInstance): { mediaType: string; transferSyntax: string } {
  const ts = transferSyntax(instance.transferSyntax);
  if (!ts || ts.encapsulated) return { mediaType: ts?.frameMediaType ?? OCTET_STREAM, transferSyntax: instance.transferSyntax };
  return { mediaType: OCTET_STREAM, transferSyntax: ts.littleEndian ? EXPLICIT_VR_LITTLE_ENDIAN : instance.transferSyntax };
}

/** Parses PS3.18 10.4.1.1.3's `{frameList}`: 1-based numbers, comma separated. */
export function parseFrameList(list: string): number[] {
  const numbers = list.split(",").map((s) => s.trim());
  if (numbers.length === 0 || numbers.some((s) => !/^[1-9][0-9]*$/.test(s))) {
    throw new DicomWebError(400, `invalid frame list "${list}": expected 1-based frame numbers separated by commas`);
  }
  return numbers.map(Number);
}

/** The byte ranges of the given frames of an instance; 404 for a frame it does not have. */
export function frameRanges(instance: StoredInstance, numbers: number[]): [number, number][][] {
  if (!instance.frames) throw new DicomWebError(404, `instance ${instance.sop} has no pixel data frames`);
  return numbers.map((n) => {
    const ranges = instance.frames![n - 1];
    if (!ranges) throw new DicomWebError(404, `instance ${instance.sop} has ${instance.frames!.length} frame(s), not frame ${n}`);
    return ranges;
  });
}

/** The offers for pixel data of an instance: its own media type first, octet-stream as OHIF asks. */
export function pixelOffers(instance: StoredInstance) {
  const { mediaType, transferSyntax } = pixelMediaType(instance);
  const offers = [{ mediaType: "multipart/related", partType: mediaType, transferSyntax }];
  if (mediaType !== OCTET_STREAM) offers.push({ mediaType: "multipart/related", partType: OCTET_STREAM, transferSyntax });
  return offers;
}

/** Answers pixel data parts as multipart/related, each part named with its true media type. */
export function pixelResponse(request: Request, backend: Backend, base: string, instance: StoredInstance, parts: [number, number][][]): Response {
  const chosen = negotiateRequest(new URL(request.url), request.headers, pixelOffers(instance));
  const { mediaType, transferSyntax } = pixelMediaType(instance);
  if (!chosen || (chosen.transferSyntax && chosen.transferSyntax !== "*" && chosen.transferSyntax !== transferSyntax)) {
    throw new DicomWebError(406, `pixel data of ${instance.sop} is stored as ${mediaType}; transfer-syntax=${transferSyntax} and is not transcoded`);
  }
  const partType = `${mediaType}; transfer-syntax=${transferSyntax}`;
  const boundary = newBoundary();
  const location = instanceUrl(base, instance);
  async function* source(): AsyncGenerator<MultipartSourcePart> {
    for (const ranges of parts) {
      const length = ranges.reduce((sum, [, n]) => sum + n, 0);
      yield {
        headers: { "Content-Type": partType, "Content-Length": String(length), "Content-Location": location },
        body: rangesStream(backend, instance, ranges),
      };
    }
  }
  return new Response(multipartStream(boundary, source()), {
    headers: { "Content-Type": `multipart/related; type="${chosen.offer.partType}"; boundary=${boundary}` },
  });
}

/** WADO-RS Retrieve Frames (PS3.18 10.4.1.1.3). */
export async function retrieveFrames(request: Request, backend: Backend, base: string, scope: Required<Scope>, list: string): Promise<Response> {
  const numbers = parseFrameList(list);
  const [instance] = await instancesOf(backend, scope);
  return pixelResponse(request, backend, base, instance!, frameRanges(instance!, numbers));
}
