import { describe, expect, it } from "vitest";
import { Fragmenter, type Fragment } from "./fragmenter.ts";

function bytes(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => i % 251);
}

function join(fragment: Fragment): number[] {
  return fragment.pieces.flatMap((piece) => [...piece]);
}

/** Every fragment of `data` fed in `chunks`, in order. */
function fragmentsOf(chunks: Uint8Array[], size: number): Fragment[] {
  const fragmenter = new Fragmenter(size);
  return [...chunks.flatMap((chunk) => fragmenter.push(chunk)), ...fragmenter.finish()];
}

describe("Fragmenter (PS3.8 9.3.5, E.2)", () => {
  it("gives full fragments, a shorter last one, and the last bit on the final one only, whatever the chunking", () => {
    const data = bytes(23);
    for (const size of [1, 4, 5, 23, 24, 100]) {
      for (let a = 0; a <= data.length; a++) {
        for (let b = a; b <= data.length; b++) {
          const fragments = fragmentsOf([data.subarray(0, a), data.subarray(a, b), data.subarray(b)], size);
          expect(fragments.flatMap(join)).toEqual([...data]);
          expect(fragments.map((f) => f.length)).toEqual(fragments.map(join).map((f) => f.length));
          expect(fragments.every((f, i) => f.length === size || i === fragments.length - 1)).toBe(true);
          expect(fragments.map((f) => f.isLast)).toEqual(fragments.map((_, i) => i === fragments.length - 1));
          expect(fragments.length).toBe(Math.max(1, Math.ceil(data.length / size)));
        }
      }
    }
  });

  it("ends an exact multiple with a full last fragment, not an empty one", () => {
    const fragments = fragmentsOf([bytes(8)], 4);
    expect(fragments.map((f) => [f.length, f.isLast])).toEqual([
      [4, false],
      [4, true],
    ]);
  });

  it("holds a full fragment back until a byte follows it", () => {
    const fragmenter = new Fragmenter(4);
    expect(fragmenter.push(bytes(4))).toEqual([]);
    expect(fragmenter.push(bytes(4))).toEqual([]);
    expect(fragmenter.push(bytes(1)).map((f) => f.length)).toEqual([4]);
  });

  it("sends an empty source as one empty last fragment", () => {
    expect(fragmentsOf([], 16)).toEqual([{ pieces: [], length: 0, isLast: true }]);
  });

  it("does not copy: pieces are views into the chunks", () => {
    const chunk = bytes(10);
    const [first] = fragmentsOf([chunk], 4);
    expect(first!.pieces[0]!.buffer).toBe(chunk.buffer);
  });
});
