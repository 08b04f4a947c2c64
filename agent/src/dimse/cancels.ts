/**
 * The C-FIND, C-GET and C-MOVE operations in progress on one association,
 * by Message ID, so a C-CANCEL-RQ (PS3.7 9.3.2.3, 9.3.3.3, 9.3.4.3: its
 * Message ID Being Responded To names the request) stops its own.
 */
export class Cancels {
  private readonly running = new Map<number, AbortController>();

  /** A signal that aborts when `cancel(messageId)` is called. */
  register(messageId: number): AbortSignal {
    const controller = new AbortController();
    this.running.set(messageId, controller);
    return controller.signal;
  }

  release(messageId: number, signal: AbortSignal): void {
    if (this.running.get(messageId)?.signal === signal) this.running.delete(messageId);
  }

  /** A C-CANCEL for an operation that already finished is ignored (PS3.7 9.3.2.3). */
  cancel(messageId: number | undefined): void {
    if (messageId === undefined) return;
    this.running.get(messageId)?.abort();
  }

  /** Stops everything (the association ended). */
  cancelAll(): void {
    for (const controller of this.running.values()) controller.abort();
  }
}

const byAssociation = new WeakMap<object, Cancels>();

/** The Cancels of an association (any object identifying it). */
export function cancelsOf(association: object): Cancels {
  let cancels = byAssociation.get(association);
  if (!cancels) {
    cancels = new Cancels();
    byAssociation.set(association, cancels);
  }
  return cancels;
}
