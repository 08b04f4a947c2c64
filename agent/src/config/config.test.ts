import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULTS, loadConfig } from "./config";

const dir = await mkdtemp(join(tmpdir(), "dicom-edge-config-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

async function file(text: string): Promise<string> {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.toml`);
  await writeFile(path, text);
  return path;
}

describe("agent configuration", () => {
  it("defaults to DICOMEDGE on 127.0.0.1:11112, edge ack mode", async () => {
    const config = await loadConfig(undefined, { DICOMEDGE_AGENT_KEY: "k" });
    expect(config.dimse).toEqual(DEFAULTS.dimse);
    expect(config.spool.ackMode).toBe("edge");
  });

  it("reads the TOML file, snake_case keys, and lets the environment win", async () => {
    const path = await file(`
[dimse]
ae_title = "RADIOLOGY"
port = 104
accepted_calling_ae_titles = ["CT1", "MR2"]
[edge]
url = "https://edge.example.org"
agent_id = "site-a"
agent_key = "from-file"
[spool]
ack_mode = "spool"
`);
    const config = await loadConfig(path, { DICOMEDGE_DIMSE_PORT: "11113", DICOMEDGE_AGENT_KEY: "from-env", DICOMEDGE_PLAIN: "true" });
    expect(config.dimse).toMatchObject({ aeTitle: "RADIOLOGY", port: 11113, acceptedCallingAeTitles: ["CT1", "MR2"], plain: true });
    expect(config.edge).toEqual({ url: "https://edge.example.org", agentId: "site-a", agentKey: "from-env" });
    expect(config.spool.ackMode).toBe("spool");
    const listed = await loadConfig(undefined, { DICOMEDGE_AGENT_KEY: "k", DICOMEDGE_ACCEPTED_CALLING_AE_TITLES: "A, B" });
    expect(listed.dimse.acceptedCallingAeTitles).toEqual(["A", "B"]);
  });

  it("refuses what cannot work, naming the key", async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /edge.agent_key is required/],
      [{ DICOMEDGE_AGENT_KEY: "k", DICOMEDGE_AE_TITLE: "THIS TITLE IS TOO LONG" }, /dimse.ae_title/],
      [{ DICOMEDGE_AGENT_KEY: "k", DICOMEDGE_DIMSE_PORT: "70000" }, /dimse.port/],
      [{ DICOMEDGE_AGENT_KEY: "k", DICOMEDGE_ACK_MODE: "maybe" }, /spool.ack_mode/],
      [{ DICOMEDGE_AGENT_KEY: "k", DICOMEDGE_TLS_CERT: "/c.pem" }, /tls.cert and tls.key/],
      [{ DICOMEDGE_AGENT_KEY: "k", DICOMEDGE_PLAIN: "false" }, /dimse.plain = false needs tls.cert/],
      [{ DICOMEDGE_AGENT_KEY: "k", DICOMEDGE_EDGE_URL: "ftp://x" }, /edge.url/],
    ];
    for (const [env, error] of cases) await expect(loadConfig(undefined, env)).rejects.toThrow(error);
    await expect(loadConfig(await file("[dimse]\nae_titel = \"X\"\n"), { DICOMEDGE_AGENT_KEY: "k" })).rejects.toThrow(/unknown key dimse.ae_titel/);
    await expect(loadConfig(await file("[misc]\nx = 1\n"), { DICOMEDGE_AGENT_KEY: "k" })).rejects.toThrow(/unknown section \[misc\]/);
  });

  it("reads the AE table from [[ae_table]] or DICOMEDGE_AE_TABLE", async () => {
    const path = await file(`
[[ae_table]]
title = "PACS"
host = "10.0.0.5"
port = 104
retrieve = "move"

[[ae_table]]
title = "WORKSTATION"
host = "ws.example.org"
port = 2762
tls = true
ca = "/etc/dicom-edge/ca.pem"
`);
    const config = await loadConfig(path, { DICOMEDGE_AGENT_KEY: "k" });
    expect(config.aeTable).toEqual([
      { title: "PACS", host: "10.0.0.5", port: 104, tls: false, retrieve: "move" },
      { title: "WORKSTATION", host: "ws.example.org", port: 2762, tls: true, ca: "/etc/dicom-edge/ca.pem" },
    ]);
    const fromEnv = await loadConfig(path, { DICOMEDGE_AGENT_KEY: "k", DICOMEDGE_AE_TABLE: '[{"title":"STORESCP","host":"127.0.0.1","port":11113}]' });
    expect(fromEnv.aeTable).toEqual([{ title: "STORESCP", host: "127.0.0.1", port: 11113, tls: false }]);
  });

  it("refuses an AE table entry that cannot work", async () => {
    const env = (table: unknown) => ({ DICOMEDGE_AGENT_KEY: "k", DICOMEDGE_AE_TABLE: JSON.stringify(table) });
    const cases: [unknown, RegExp][] = [
      [{ title: "X" }, /must be a list/],
      [[{ title: "A\\B", host: "h", port: 1 }], /not a valid AE title/],
      [[{ title: "A", port: 1 }], /host is required/],
      [[{ title: "A", host: "h", port: 0 }], /port must be/],
      [[{ title: "A", host: "h", port: 1 }, { title: "A", host: "i", port: 2 }], /appears twice/],
      [[{ title: "A", host: "h", port: 1, ca: "/ca.pem" }], /only meaningful with tls/],
      [[{ title: "A", host: "h", port: 1, tls: true, cert: "/c.pem" }], /cert and key go together/],
      [[{ title: "A", host: "h", port: 1, calling: "B" }], /unknown key calling/],
      [[{ title: "A", host: "h", port: 1, retrieve: "c-move" }], /retrieve must be "get" or "move"/],
    ];
    for (const [table, error] of cases) await expect(loadConfig(undefined, env(table))).rejects.toThrow(error);
    await expect(loadConfig(undefined, { DICOMEDGE_AGENT_KEY: "k", DICOMEDGE_AE_TABLE: "[" })).rejects.toThrow(/JSON array/);
  });

  it("reads the shipped example configuration", async () => {
    const config = await loadConfig(new URL("../../agent.example.toml", import.meta.url).pathname, {});
    expect(config.edge.agentId).toBe("radiology-1");
    expect(config.aeTable.map((e) => e.title)).toEqual(["WORKSTATION1", "PACS"]);
  });

  it("reads the identity section: users with scrypt hashes, never a passcode", async () => {
    const hash = "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
    const path = await file(`
[identity]
required = true
anonymous_scopes = []

[[identity.users]]
username = "ct scanner "
password_hash = "${hash}"
scopes = ["write"]
`);
    const config = await loadConfig(path, { DICOMEDGE_AGENT_KEY: "k" });
    expect(config.identity).toEqual({ required: true, acceptJwt: true, anonymousScopes: [], users: [{ username: "ct scanner ", passwordHash: hash, scopes: ["write"] }] });
    const env = (users: unknown) => ({ DICOMEDGE_AGENT_KEY: "k", DICOMEDGE_IDENTITY_USERS: JSON.stringify(users) });
    await expect(loadConfig(undefined, env([{ username: "a", password_hash: "plain text", scopes: ["write"] }]))).rejects.toThrow(/scrypt hash/);
    await expect(loadConfig(undefined, env([{ username: "a", password_hash: hash, scopes: ["root"] }]))).rejects.toThrow(/list of scopes/);
    await expect(loadConfig(undefined, env([{ username: "a", password_hash: hash, scopes: [] }, { username: "a", password_hash: hash, scopes: [] }]))).rejects.toThrow(/twice/);
    await expect(loadConfig(undefined, { DICOMEDGE_AGENT_KEY: "k", DICOMEDGE_IDENTITY_ANONYMOUS_SCOPES: "read,everything" })).rejects.toThrow(/anonymous_scopes/);
  });
});
