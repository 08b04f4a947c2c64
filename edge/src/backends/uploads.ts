/**
 * The instances of one store transaction still being written while the
 * caller reads the next (StoreTransaction.receive): at most `limit` at once,
 * so that what they hold stays bounded. Failures are their outcomes' to
 * tell; here an upload only ends.
 */
export class Uploads {
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly limit: number) {}

  /** Counts `upload` until it settles, then waits, if need be, until fewer than `limit` run. */
  async add(upload: Promise<unknown>): Promise<void> {
    const tracked: Promise<unknown> = upload.catch(() => undefined).finally(() => this.running.delete(tracked));
    this.running.add(tracked);
    while (this.running.size >= this.limit) await Promise.race(this.running);
  }

  /** Waits until none runs, those started meanwhile included. */
  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }
}
