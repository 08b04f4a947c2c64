/**
 * Newline-delimited JSON over a tunnel stream: how the edge streams C-FIND
 * matches and retrieve lists, and the agent its SEND progress. A line is
 * one JSON value; DATA frame boundaries are not line boundaries.
 */

/** Splits a byte stream into lines, each parsed as JSON; blank lines are skipped. */
export async function* jsonLines(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of chunks) {
    rest += decoder.decode(chunk, { stream: true });
    for (let newline = rest.indexOf("\n"); newline >= 0; newline = rest.indexOf("\n")) {
      const line = rest.slice(0, newline);
      rest = rest.slice(newline + 1);
      if (line.trim() !== "") yield JSON.parse(line);
    }
  }
  rest += decoder.decode();
  if (rest.trim() !== "") yield JSON.parse(rest);
}

const encoder = new TextEncoder();

/** One line of JSON, as the writer of these streams sends it. */
export function jsonLine(value: unknown): Uint8Array {
  return encoder.encode(`${JSON.stringify(value)}\n`);
}
