/** One array holding `parts` one after another. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * Joins small chunks into runs of at least `size` bytes (the last may be
 * shorter); a chunk already that large passes through uncopied. Each run is
 * one tunnel DATA frame, so this trades a copy for fewer WebSocket messages
 * and fewer Durable Object wakes. At most `size` plus one chunk is held.
 */
export async function* coalesce(chunks: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of chunks) {
    if (chunk.byteLength >= size && pending.length === 0) {
      yield chunk;
      continue;
    }
    pending.push(chunk);
    bytes += chunk.byteLength;
    if (bytes >= size) {
      yield concat(pending);
      pending = [];
      bytes = 0;
    }
  }
  if (bytes > 0) yield pending.length === 1 ? pending[0]! : concat(pending);
}
