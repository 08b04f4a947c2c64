import { transferSyntax } from "@dicom-edge/shared/dicom/transfer-syntax";
import type { Backend, StoredInstance } from "../../backends/backend";
import { partReader, type PartReader } from "../multipart/writer";
import { objectBody } from "./resources";

/**
 * The bytes of `ranges` of a stored object, in order, as one stream. Each
 * range is an R2 range read, opened only when the previous one is done, so a
 * frame of a multi-GB instance costs one small read (DESIGN: Frames). For a
 * deflated syntax the ranges count inflated bytes: the object is inflated as
 * it streams, and only the wanted bytes are passed on.
 */
export function rangesStream(backend: Backend, instance: StoredInstance, ranges: readonly [number, number][]): ReadableStream<Uint8Array> {
  if (transferSyntax(instance.transferSyntax)?.deflated) return inflatedRanges(backend, instance, ranges);
  let next = 0;
  let current: PartReader | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (!current) {
          const range = ranges[next++];
          if (!range) {
            controller.close();
            return;
          }
          if (range[1] === 0) continue;
          // Read in large pieces (partReader), not R2's 4 KiB chunks: a frame is one pull, not a hundred.
          current = partReader(await objectBody(backend, instance, { offset: range[0], length: range[1] }));
        }
        const { done, value } = await current.read();
        if (done) current = undefined;
        // A byte stream's last read may carry bytes and done together.
        if (value !== undefined && value.byteLength > 0) {
          controller.enqueue(value);
          return;
        }
      }
    },
    async cancel(reason) {
      await current?.cancel(reason);
    },
  });
}

function inflatedRanges(backend: Backend, instance: StoredInstance, ranges: readonly [number, number][]): ReadableStream<Uint8Array> {
  const wanted = [...ranges].map(([offset, length]) => [offset - instance.datasetOffset, length] as [number, number]);
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let position = 0; // inflated bytes passed so far
  let index = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!reader) {
        const raw = await objectBody(backend, instance, { offset: instance.datasetOffset, length: instance.size - instance.datasetOffset });
        reader = raw.pipeThrough(new DecompressionStream("deflate-raw")).getReader();
      }
      for (;;) {
        const range = wanted[index];
        if (!range) {
          await reader.cancel();
          controller.close();
          return;
        }
        const { done, value } = await reader.read();
        if (done) {
          controller.error(new Error(`deflated dataset of ${instance.sop} ends before byte ${range[0] + range[1]}`));
          return;
        }
        const start = position;
        position += value.byteLength;
        let emitted = false;
        // Ranges are in ascending order; one chunk may hold parts of several.
        while (wanted[index] && wanted[index]![0] < position) {
          const [offset, length] = wanted[index]!;
          const from = Math.max(offset, start) - start;
          const to = Math.min(offset + length, position) - start;
          if (to > from) {
            controller.enqueue(value.subarray(from, to));
            emitted = true;
          }
          if (offset + length <= position) index++;
          else break;
        }
        if (emitted) return;
      }
    },
    async cancel(reason) {
      await reader?.cancel(reason);
    },
  });
}
