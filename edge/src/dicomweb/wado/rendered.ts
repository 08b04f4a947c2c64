import { numberValue, stringValue } from "@dicom-edge/shared/dicom/json";
import type { DicomJson } from "@dicom-edge/shared/dicom/part10-reader";
import type { Backend, Scope, StoredInstance } from "../../backends/backend";
import { DicomWebError } from "../errors";
import { parseRenderParameters, RenderError, renderFrame, type ImagePixelModule } from "../rendered/render";
import { rangesStream } from "./byte-ranges";
import { frameRanges } from "./frames";
import { instancesOf } from "./resources";

/** Frames larger than this are not decoded in the Worker (128 MB of memory in all). */
const MAX_RENDER_FRAME_BYTES = 48 * 1024 * 1024;

/**
 * WADO-RS Retrieve Rendered (PS3.18 10.4.1.1.4 / 9.5) and thumbnails
 * (10.4.1.1.6): one frame rendered as image/jpeg or image/png. An instance
 * renders its first frame; a study or series thumbnail renders the middle
 * instance of its first series, as a representative image.
 */
export async function retrieveRendered(
  request: Request,
  backend: Backend,
  scope: Scope,
  kind: "rendered" | "thumbnail",
  frameList?: string,
): Promise<Response> {
  const url = new URL(request.url);
  const parameters = parseRenderParameters(url, request.headers.get("accept"), kind);
  if (parameters instanceof RenderError) throw new DicomWebError(parameters.status, parameters.message);
  const instances = await instancesOf(backend, scope);
  const instance = representative(instances);
  const frame = frameList === undefined ? 1 : singleFrame(frameList);
  const [ranges] = frameRanges(instance, [frame]);
  const size = ranges!.reduce((sum, [, n]) => sum + n, 0);
  if (size > MAX_RENDER_FRAME_BYTES) throw new DicomWebError(406, `frame ${frame} is ${size} bytes; frames over ${MAX_RENDER_FRAME_BYTES} bytes are not rendered`);
  const [bytes, dataset] = await Promise.all([
    new Response(rangesStream(backend, instance, ranges!)).arrayBuffer(),
    metadataOf(backend, instance),
  ]);
  try {
    const image = await renderFrame(new Uint8Array(bytes), instance.transferSyntax, imagePixelModule(dataset), parameters);
    return new Response(image.body, { headers: { "Content-Type": image.mediaType } });
  } catch (error) {
    if (error instanceof RenderError) throw new DicomWebError(error.status, error.message);
    throw error;
  }
}

function representative(instances: StoredInstance[]): StoredInstance {
  const firstSeries = instances.filter((i) => i.series === instances[0]!.series);
  return firstSeries[Math.floor((firstSeries.length - 1) / 2)]!;
}

function singleFrame(list: string): number {
  if (!/^[1-9][0-9]*$/.test(list)) throw new DicomWebError(400, `rendered frames are retrieved one at a time; got "${list}"`);
  return Number(list);
}

async function metadataOf(backend: Backend, instance: StoredInstance): Promise<DicomJson> {
  for await (const entry of backend.metadata({ study: instance.study, series: instance.series, instance: instance.sop })) {
    return JSON.parse(entry.json) as DicomJson;
  }
  throw new DicomWebError(404, `no metadata for instance ${instance.sop}`);
}

/** The Image Pixel Module (PS3.3 C.7.6.3) and the VOI attributes (C.11.2) a renderer needs. */
export function imagePixelModule(ds: DicomJson): ImagePixelModule {
  const bitsAllocated = numberValue(ds, "00280100") ?? 16;
  const windowCenter = numberValue(ds, "00281050");
  const windowWidth = numberValue(ds, "00281051");
  const voiLutFunction = stringValue(ds, "00281056");
  return {
    rows: numberValue(ds, "00280010") ?? 0,
    columns: numberValue(ds, "00280011") ?? 0,
    samplesPerPixel: numberValue(ds, "00280002") ?? 1,
    bitsAllocated,
    bitsStored: numberValue(ds, "00280101") ?? bitsAllocated,
    highBit: numberValue(ds, "00280102") ?? bitsAllocated - 1,
    pixelRepresentation: numberValue(ds, "00280103") ?? 0,
    photometricInterpretation: stringValue(ds, "00280004") ?? "MONOCHROME2",
    planarConfiguration: numberValue(ds, "00280006") ?? 0,
    rescaleSlope: numberValue(ds, "00281053") ?? 1,
    rescaleIntercept: numberValue(ds, "00281052") ?? 0,
    ...(windowCenter !== undefined ? { windowCenter } : {}),
    ...(windowWidth !== undefined ? { windowWidth } : {}),
    ...(voiLutFunction !== undefined ? { voiLutFunction } : {}),
  };
}
