import { describe, expect, it } from "vitest";
import { afterHead, FetchError } from "./edge-source.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

async function* chunks(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* parts;
}

async function read(source: AsyncIterable<Uint8Array>): Promise<{ syntax?: string; rest: string }> {
  let syntax: string | undefined;
  let rest = "";
  for await (const chunk of afterHead(source, (head) => (syntax = head.transferSyntax))) {
    // The head is known before the first byte after it.
    expect(syntax).toBeDefined();
    rest += new TextDecoder().decode(chunk);
  }
  return { ...(syntax !== undefined ? { syntax } : {}), rest };
}

describe("afterHead (the FetchHead line of an announced fetch)", () => {
  it("takes the line off, wherever chunk boundaries fall", async () => {
    const whole = '{"transferSyntax":"1.2.840.10008.1.2"}\nDATASET';
    for (let cut = 0; cut <= whole.length; cut++) {
      expect(await read(chunks(bytes(whole.slice(0, cut)), bytes(whole.slice(cut))))).toEqual({ syntax: "1.2.840.10008.1.2", rest: "DATASET" });
    }
  });

  it("fails the sub-operation (0110) for a head that names no syntax, is not JSON or never ends", async () => {
    for (const head of ['{"transferSyntax":"x y"}\n', "{\n", "null\n", "1".repeat(300)]) {
      const error = await read(chunks(bytes(head))).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FetchError);
      expect((error as FetchError).outcome.status).toBe(0x0110);
    }
  });
});
