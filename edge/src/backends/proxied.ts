import { stringValue, type DicomJson } from "@dicom-edge/shared/dicom/json";
import type { Level } from "@dicom-edge/shared/query/model";
import type { StudyChangeReporter } from "../archive/study-events";
import { BackendUnavailable, type Backend, type SearchMatch, type StoreOutcome, type StoreTransaction } from "./backend";

/**
 * One instance's bytes as the body of a request to an upstream (a STOW-RS
 * request, a `pacs-store` stream), taken from `body` only as the request is
 * sent, between an optional `head` and `tail` (a multipart part's framing);
 * `tap` sees each chunk on its way. `read` settles once all of `body` has
 * been taken, or the request stopped taking it: the caller may then read
 * its next instance while this one's answer is still to come.
 */
export function requestBody(
  body: AsyncIterable<Uint8Array>,
  options: { head?: Uint8Array; tail?: Uint8Array; tap?: (chunk: Uint8Array) => void } = {},
): { stream: ReadableStream<Uint8Array>; read: Promise<void> } {
  let done!: () => void;
  const read = new Promise<void>((resolve) => (done = resolve));
  const iterator = body[Symbol.asyncIterator]();
  let headSent = options.head === undefined;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (!headSent) {
          headSent = true;
          controller.enqueue(options.head!);
          return;
        }
        const next = await iterator.next();
        if (!next.done) {
          options.tap?.(next.value);
          controller.enqueue(next.value);
          return;
        }
        done();
        if (options.tail) controller.enqueue(options.tail);
        controller.close();
      } catch (error) {
        done();
        controller.error(error);
      }
    },
    // The upstream answered before the end (a refused instance): the caller's reader skips the rest.
    async cancel() {
      done();
      await iterator.return?.();
    },
  });
  return { stream, read };
}

/**
 * The reads a proxy backend does not serve (instances one by one with
 * their stored layout, their bytes, their metadata): each call is refused
 * with `reason`, never answered from elsewhere.
 */
export function refusedReads(reason: string): Pick<Backend, "instances" | "read" | "dataset" | "metadata"> {
  const refusal = () => new BackendUnavailable(503, reason);
  return {
    instances: () => Promise.reject(refusal()),
    read: () => Promise.reject(refusal()),
    dataset: () => Promise.reject(refusal()),
    metadata: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(refusal()) }) }),
  };
}

/** An upstream's result datasets as matches, named by the UIDs they hold (and the Patient ID at patient level). */
export function matchesOf(datasets: DicomJson[], level: Level): SearchMatch[] {
  return datasets.map((dataset) => ({
    ...optional("study", stringValue(dataset, "0020000D")),
    ...optional("series", stringValue(dataset, "0020000E")),
    ...optional("sop", stringValue(dataset, "00080018")),
    ...(level === "patient" ? optional("patient", stringValue(dataset, "00100020")) : {}),
    dataset,
  }));
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

/**
 * A proxy's store that reports the studies it stored into (FHIR
 * Subscriptions, the FHIR push: DESIGN's archive change -> notification)
 * once the transaction ends. The upstream keeps each instance as it
 * answers, so a rollback reports what was stored before it too; a failed
 * or refused instance changed nothing.
 */
export function reportingStore(store: StoreTransaction, report: StudyChangeReporter | undefined): StoreTransaction {
  if (!report) return store;
  const studies = new Set<string>();
  let noting: Promise<unknown> = Promise.resolve();
  const noted = (outcome: Promise<StoreOutcome>) => {
    const note = outcome.then((o) => o.ok && studies.add(o.study), () => undefined);
    noting = Promise.all([noting, note]);
    return outcome;
  };
  const reported = async () => {
    await noting;
    if (studies.size > 0) await report([...studies].map((study) => ({ study, change: "stored" as const })));
    studies.clear();
  };
  return {
    add: (body, expect) => noted(store.add(body, expect)),
    receive: async (body, expect) => ({ outcome: noted((await store.receive(body, expect)).outcome) }),
    commit: async () => {
      await store.commit();
      await reported();
    },
    rollback: async () => {
      await store.rollback();
      await reported();
    },
  };
}
