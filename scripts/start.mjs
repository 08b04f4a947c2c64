// `npm start`: install, apply the local D1 migrations and run the whole stack
// on this machine: the edge on http://127.0.0.1:8787 (D1 and R2 on disk under
// .wrangler/state) and the agent (DIMSE on 127.0.0.1:11112, AE DICOMEDGE),
// joined by the agent's tunnel. Ctrl-C stops everything, workerd included.
//
// Requests need a bearer token: the local signing key
// (.wrangler/token-signing-key.json) is made on first start and its public
// half given to the edge as TOKEN_PUBLIC_KEYS; an all-scopes token for this
// machine is kept in .wrangler/local-token. `npm start -- --no-auth` turns
// authentication off (AUTH_DISABLED), for this machine only.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { bin, install, root, run, startGroup } from "./toolchain.mjs";

let flags;
try {
  ({ values: flags } = parseArgs({ options: { "no-auth": { type: "boolean" } } }));
} catch (error) {
  console.error(`npm start: ${error.message}\nusage: npm start [-- --no-auth]`);
  process.exit(2);
}
const noAuth = flags["no-auth"] ?? false;
const port = process.env.PORT ?? "8787";
const dimsePort = process.env.DICOMEDGE_DIMSE_PORT ?? "11112";

const NO_AUTH_WARNING = `
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!!  WARNING: AUTHENTICATION IS OFF (npm start -- --no-auth)
!!
!!  The edge on http://127.0.0.1:${port} accepts every request without a
!!  token: anything that can reach it can read, store and delete studies.
!!  This is for development on this machine only. Never expose this port,
!!  never set AUTH_DISABLED anywhere else, never use it with real patient
!!  data. Start without --no-auth to require tokens again.
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
`;

await install();
await run(bin("wrangler"), ["d1", "migrations", "apply", "DB", "--local"]);

// The local agent's key, made once and kept with the local state: the edge
// learns it as AGENT_KEYS, the agent signs its tunnel tokens with it.
const keyFile = path.join(root, ".wrangler", "local-agent-key");
await mkdir(path.dirname(keyFile), { recursive: true });
if (!existsSync(keyFile)) await writeFile(keyFile, randomBytes(32).toString("hex"), { mode: 0o600 });
const agentKey = (await readFile(keyFile, "utf8")).trim();

// The token signing key and this machine's token (edge/cli/local-auth.ts,
// TypeScript loaded through tsx), made before wrangler dev opens the local D1.
const { tsImport } = await import("tsx/esm/api");
const { prepareLocalAuth } = await tsImport("../edge/cli/local-auth.ts", import.meta.url);
const auth = await prepareLocalAuth();
if (auth.keyCreated) console.log(`dicom-edge: made the local token signing key ${path.relative(root, auth.keyFile)}`);
const authVars = ["--var", `TOKEN_PUBLIC_KEYS:${auth.publicKeys}`];
if (noAuth) authVars.push("--var", "AUTH_DISABLED:local-development-only");

const edge = startGroup(bin("wrangler"), ["dev", "--ip", "127.0.0.1", "--port", port, "--var", `AGENT_KEYS:${JSON.stringify({ local: agentKey })}`, ...authVars]);
const agent = startGroup(bin("tsx"), ["agent/src/main.ts"], {
  env: {
    DICOMEDGE_EDGE_URL: `http://127.0.0.1:${port}`,
    DICOMEDGE_AGENT_ID: "local",
    DICOMEDGE_AGENT_KEY: agentKey,
    DICOMEDGE_DIMSE_PORT: dimsePort,
    DICOMEDGE_SPOOL_DIR: path.join(root, ".wrangler", "agent-spool"),
  },
});
console.log(`dicom-edge: DICOMweb at http://127.0.0.1:${port}/dicomweb, DIMSE at DICOMEDGE@127.0.0.1:${dimsePort} (Ctrl-C stops)`);
const tokenFile = path.relative(root, auth.tokenFile);
if (noAuth) {
  console.error(NO_AUTH_WARNING);
} else {
  console.log(
    `dicom-edge: ${auth.tokenCreated ? "made a" : "reusing the"} local token (all scopes, expires ${new Date(auth.tokenExpiresAt).toISOString()}) in ${tokenFile}:\n` +
      `  curl -H "Authorization: Bearer $(cat ${tokenFile})" http://127.0.0.1:${port}/dicomweb/studies\n` +
      `  more tokens: npm run token -- create --name NAME --scope read --expires 30d   (list, revoke: npm run token -- help)`,
  );
}

let stopping = false;
function shutdown() {
  if (stopping) return;
  stopping = true;
  agent.stop("SIGTERM");
  edge.stop("SIGTERM");
  // workerd gets a moment to flush D1 and R2 to disk, then the groups go.
  setTimeout(() => {
    agent.stop("SIGKILL");
    edge.stop("SIGKILL");
    process.exit(0);
  }, 3000).unref();
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
for (const { child } of [edge, agent]) {
  child.on("exit", (code) => {
    if (stopping) return;
    shutdown();
    process.exitCode = code ?? 1;
  });
}
