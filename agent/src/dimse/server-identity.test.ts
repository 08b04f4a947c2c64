/**
 * User Identity Negotiation (PS3.7 D.3.3.7) with dcmtk 3.6.7's
 * `storescu --user/--password` and `--jwt`, against the agent's SCP; JWTs
 * are verified by a test edge through the tunnel's `authenticate` stream.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backToBack, type BackToBack } from "@dicom-edge/shared/tunnel/testing/back-to-back";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { edgeJwtVerifier, type IdentityPolicy } from "../identity/identity.ts";
import { hashPassword } from "../identity/password.ts";
import { dcmtk } from "../testing/dcmtk.ts";
import { startTestServer } from "../testing/server.ts";
import type { DimseServer, StoreContext } from "./server.ts";

const CT = "/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm";
const GOOD_JWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ2aWV3ZXIifQ.c2lnbmF0dXJl";
const READ_ONLY_JWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJyZWFkZXIifQ.c2lnbmF0dXJl";

let dir: string;
let policy: IdentityPolicy;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "agent-identity-"));
  for (const [name, token] of [["good", GOOD_JWT], ["read-only", READ_ONLY_JWT], ["forged", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."]] as const) {
    await writeFile(join(dir, `${name}.jwt`), token);
  }
  policy = {
    required: true,
    acceptJwt: true,
    anonymousScopes: [],
    users: [
      { username: "modality ", passwordHash: await hashPassword("s3cret pass"), scopes: ["write"] },
      { username: "viewer", passwordHash: await hashPassword("look"), scopes: ["read"] },
    ],
  };
});
afterAll(() => rm(dir, { recursive: true, force: true }));

let server: DimseServer | undefined;
let tunnel: BackToBack | undefined;
const stored: StoreContext["identity"][] = [];
const asked: string[] = [];
afterEach(async () => {
  await server?.close();
  tunnel?.close();
  server = tunnel = undefined;
  stored.length = asked.length = 0;
});

/** The SCP with `policy`, JWTs verified by a test edge that knows GOOD_JWT (read, write) and READ_ONLY_JWT (read). */
async function start(over: Partial<IdentityPolicy> = {}) {
  tunnel = backToBack((stream, meta) => {
    if (meta.kind !== "authenticate") return stream.reset("unknown-kind", meta.kind);
    asked.push(String(meta.token));
    if (meta.token === GOOD_JWT) stream.sendResult({ ok: true, subject: "viewer-app", scopes: ["read", "write"] });
    else if (meta.token === READ_ONLY_JWT) stream.sendResult({ ok: true, subject: "reader", scopes: ["read"] });
    else stream.sendResult({ ok: false, reason: "invalid signature" });
  });
  server = await startTestServer({
    identity: { policy: { ...policy, ...over }, verifyJwt: edgeJwtVerifier(tunnel.link, 2000) },
    handlers: {
      store: async (ctx) => {
        for await (const _ of ctx.dataset) void _;
        stored.push(ctx.identity);
        return { status: 0 };
      },
    },
  });
  return server.port;
}

const storescu = (port: number, args: string[]) => dcmtk("storescu", ["-v", "-aec", "EDGE", ...args, "127.0.0.1", String(port), CT]);
const echo = (port: number) => dcmtk("echoscu", ["-aec", "EDGE", "127.0.0.1", String(port)]);

describe("username and passcode (type 2)", () => {
  it("accepts a configured user, as sent (the trailing space is part of the name), and answers the positive response asked for", async () => {
    const port = await start();
    const { code, out } = await storescu(port, ["--user", "modality ", "--password", "s3cret pass", "--pos-response"]);
    expect(code, out).toBe(0);
    expect(out).toMatch(/Received Store Response \(Success\)/);
    expect(stored).toEqual([{ identity: { kind: "agent", subject: "modality ", scopes: ["write"] }, subject: "modality ", scopes: ["write"] }]);
  });

  it("rejects a wrong passcode, an unknown user and a trimmed name with A-ASSOCIATE-RJ, then serves the next association", async () => {
    const port = await start({ anonymousScopes: ["read", "write"], required: false });
    for (const [user, pass] of [["modality ", "wrong"], ["nobody", "s3cret pass"], ["modality", "s3cret pass"]]) {
      const { code, out } = await storescu(port, ["--user", user!, "--password", pass!]);
      expect(code).not.toBe(0);
      expect(out).toMatch(/Association Rejected/);
      expect(out).toMatch(/Result: Rejected Permanent, Source: Service User/);
    }
    expect(stored).toEqual([]);
    expect((await echo(port)).code).toBe(0);
  });

  it("refuses a C-STORE to a user without the write scope with 0124, storing nothing", async () => {
    const port = await start();
    const { out } = await storescu(port, ["--user", "viewer", "--password", "look"]);
    // dcmtk 3.6.7 has no name for 0124 (PS3.7 C.5: Refused: Not Authorized).
    expect(out).toMatch(/Received Store Response \(Unknown Status: 0x124\)/);
    expect(stored).toEqual([]);
  });
});

describe("JWT (type 5), verified by the edge", () => {
  it("accepts a token the edge accepts, and every operation carries the token itself", async () => {
    const port = await start();
    const { code, out } = await storescu(port, ["--jwt", join(dir, "good.jwt"), "--pos-response"]);
    expect(code, out).toBe(0);
    expect(asked).toEqual([GOOD_JWT]);
    expect(stored).toEqual([{ identity: { kind: "jwt", token: GOOD_JWT }, subject: "viewer-app", scopes: ["read", "write"] }]);
  });

  it("rejects a token the edge refuses, and refuses to store for a read-only token", async () => {
    const port = await start();
    const forged = await storescu(port, ["--jwt", join(dir, "forged.jwt")]);
    expect(forged.out).toMatch(/Association Rejected/);
    const readOnly = await storescu(port, ["--jwt", join(dir, "read-only.jwt")]);
    expect(readOnly.out).toMatch(/Received Store Response \(Unknown Status: 0x124\)/);
    expect(stored).toEqual([]);
  });

  it("rejects transiently when the edge cannot be asked", async () => {
    const port = await start();
    tunnel!.close();
    const { out } = await storescu(port, ["--jwt", join(dir, "good.jwt")]);
    expect(out).toMatch(/Result: Rejected Transient, Source: Service Provider \(Presentation Related\)/);
  });
});

describe("no identity", () => {
  it("is rejected when an identity is required", async () => {
    const port = await start();
    expect((await storescu(port, [])).out).toMatch(/Association Rejected/);
    expect((await echo(port)).code).not.toBe(0);
  });

  it("gets the anonymous scopes otherwise", async () => {
    const port = await start({ required: false, anonymousScopes: ["write"] });
    const { code } = await storescu(port, []);
    expect(code).toBe(0);
    expect(stored).toEqual([{ identity: { kind: "agent", subject: "anonymous", scopes: ["write"] }, subject: "anonymous", scopes: ["write"] }]);
  });
});
