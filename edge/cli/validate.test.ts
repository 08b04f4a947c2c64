import { describe, expect, it } from "vitest";
import { parseName, parseScopes, parseTokenId } from "./validate";

const usage = expect.objectContaining({ exitCode: 2 });

describe("parseName", () => {
  it.each(["local", "Dr. O'Brien's viewer", "ci; DROP TABLE api_tokens --", "Zürich PACS", "a".repeat(64), "é".repeat(64)])("accepts %j", (name) => {
    expect(parseName(name)).toBe(name);
  });

  it.each([undefined, "", "a".repeat(65), "tab\there", "new\nline", "nul\0", "bell\u0007", "rtl\u202Eoverride", " lead", "trail "])(
    "refuses %j",
    (name) => {
      expect(() => parseName(name)).toThrow(usage);
    },
  );
});

describe("parseScopes", () => {
  it("keeps each scope once, in SCOPES order", () => {
    expect(parseScopes("admin,read, write,read")).toEqual(["read", "write", "admin"]);
    expect(parseScopes("delete")).toEqual(["delete"]);
  });

  it.each([undefined, "", " ", "read,", "read,,write", "READ", "read write", "root", "read,superuser"])("refuses %j", (text) => {
    expect(() => parseScopes(text)).toThrow(usage);
  });
});

describe("parseTokenId", () => {
  it("accepts a UUID", () => {
    expect(parseTokenId("939ca76a-865a-4ed1-9516-0a228d8714bd")).toBe("939ca76a-865a-4ed1-9516-0a228d8714bd");
  });

  it.each([undefined, "", "x'y", "a b", "a;b", "x".repeat(129)])("refuses %j", (id) => {
    expect(() => parseTokenId(id)).toThrow(usage);
  });
});
