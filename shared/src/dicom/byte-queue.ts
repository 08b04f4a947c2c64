/**
 * A FIFO of byte chunks for push parsers: peek and take small headers,
 * discard bulk values without copying them.
 */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  /** Parallel to `chunks`: true when the chunk is the caller's memory, not ours. */
  private borrowed: boolean[] = [];
  length = 0;

  push(chunk: Uint8Array, borrowed: boolean): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.borrowed.push(borrowed);
    this.length += chunk.length;
  }

  /** The first `n` bytes (n <= length), a view when they sit in one chunk. */
  peek(n: number): Uint8Array {
    const first = this.chunks[0];
    if (first && first.length >= n) return first.subarray(0, n);
    const out = new Uint8Array(n);
    let filled = 0;
    for (const chunk of this.chunks) {
      const k = Math.min(chunk.length, n - filled);
      out.set(chunk.subarray(0, k), filled);
      filled += k;
      if (filled === n) break;
    }
    return out;
  }

  /** Drops up to `n` bytes from the head; returns how many were dropped. */
  discard(n: number): number {
    let left = n;
    while (left > 0 && this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      if (chunk.length <= left) {
        left -= chunk.length;
        this.chunks.shift();
        this.borrowed.shift();
      } else {
        this.chunks[0] = chunk.subarray(left);
        left = 0;
      }
    }
    const dropped = n - left;
    this.length -= dropped;
    return dropped;
  }

  /** The first `n` bytes (n <= length), removed from the queue. */
  take(n: number): Uint8Array {
    const bytes = this.peek(n);
    this.discard(n);
    return bytes;
  }

  /**
   * Copies what is left of borrowed chunks, so the caller may reuse the
   * buffer it wrote. What is left is at most one pending element, so the
   * copy is bounded by the reader's element cap.
   */
  settle(): void {
    for (let i = 0; i < this.chunks.length; i++) {
      if (this.borrowed[i]) {
        this.chunks[i] = this.chunks[i]!.slice();
        this.borrowed[i] = false;
      }
    }
  }

  /** Removes and returns every queued chunk. */
  drain(): Uint8Array[] {
    const chunks = this.chunks;
    this.chunks = [];
    this.borrowed = [];
    this.length = 0;
    return chunks;
  }
}
