import { describe, expect, it } from "vitest";
import { jsonLine, jsonLines } from "./json-lines.ts";

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield new TextEncoder().encode(part);
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const value of jsonLines(source)) out.push(value);
  return out;
}

describe("jsonLines", () => {
  it("splits at newlines, not at chunk boundaries, and keeps multi-byte characters whole", async () => {
    const bytes = new TextEncoder().encode('{"a":"Müller"}\n\n[1,2]\n');
    const split = [bytes.subarray(0, 9), bytes.subarray(9, 10), bytes.subarray(10)];
    async function* parts() {
      yield* split;
    }
    expect(await collect(parts())).toEqual([{ a: "Müller" }, [1, 2]]);
  });

  it("reads a last line without its newline, and throws on a line that is not JSON", async () => {
    expect(await collect(chunks('{"n":1}\n{"n"', ":2}"))).toEqual([{ n: 1 }, { n: 2 }]);
    await expect(collect(chunks("{nope}\n"))).rejects.toThrow(SyntaxError);
  });

  it("round-trips what jsonLine writes", async () => {
    async function* lines() {
      yield jsonLine({ count: 2 });
      yield jsonLine("x\ny");
    }
    expect(await collect(lines())).toEqual([{ count: 2 }, "x\ny"]);
  });
});
