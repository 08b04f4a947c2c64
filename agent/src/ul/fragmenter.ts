/**
 * Splits a DIMSE message's bytes, as they arrive in chunks of any size,
 * into PDV fragments of at most the peer's maximum (PS3.8 9.3.5, D.1),
 * without copying: a fragment is the list of views into the chunks that
 * make it up. One full fragment is held back until more bytes come or the
 * source ends, so that the final one carries the "last" bit (PS3.8 E.2).
 * Pure; the association writes what it returns.
 */
export interface Fragment {
  pieces: Uint8Array[];
  length: number;
  isLast: boolean;
}

export class Fragmenter {
  private held: Uint8Array[] | undefined;
  private filling: Uint8Array[] = [];
  private filled = 0;

  constructor(private readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`fragment size ${size} must be a positive integer`);
  }

  /** The fragments `chunk` proved not to be last (often none, or many for a large chunk). */
  push(chunk: Uint8Array): Fragment[] {
    const out: Fragment[] = [];
    for (let at = 0; at < chunk.length; ) {
      if (this.filled === this.size) {
        if (this.held) out.push({ pieces: this.held, length: this.size, isLast: false });
        this.held = this.filling;
        this.filling = [];
        this.filled = 0;
      }
      const take = Math.min(this.size - this.filled, chunk.length - at);
      this.filling.push(chunk.subarray(at, at + take));
      this.filled += take;
      at += take;
    }
    return out;
  }

  /** The rest once the source ended: its last fragment flagged; an empty source is one empty last fragment. */
  finish(): Fragment[] {
    const out: Fragment[] = [];
    if (this.held) out.push({ pieces: this.held, length: this.size, isLast: false });
    // Never empty after a held fragment: one is held only once a byte follows it.
    out.push({ pieces: this.filling, length: this.filled, isLast: true });
    this.held = undefined;
    this.filling = [];
    this.filled = 0;
    return out;
  }
}
