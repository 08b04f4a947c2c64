/**
 * `npm run token -- <command>`: makes the edge's signing keys and bearer
 * tokens, and lists and revokes tokens in D1. The token string is printed
 * once, on stdout, and kept nowhere: D1 holds its SHA-256.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { SCOPES } from "../src/auth/edge-tokens";
import { DEFAULT_CONFIG, type D1Target } from "./d1";
import { parseDuration } from "./duration";
import { CliError, usageError } from "./errors";
import { DEFAULT_KEY_FILE, createSigningKeyFile, publicJwkSet, readSigningKey } from "./keys";
import { isoSeconds, listingJson, listingTable } from "./listing-format";
import { createToken, listTokens, revokeToken } from "./tokens";
import { parseName, parseScopes, parseTokenId } from "./validate";

const USAGE = `usage: npm run token -- <command> [options]

  init [--key FILE] [--force]
      Make an ES256 signing key; write its private JWK to FILE (mode 0600,
      default .wrangler/token-signing-key.json) and print the public JWK Set
      for the edge's TOKEN_PUBLIC_KEYS.
  public-keys [--key FILE]...
      Print the JWK Set for these private keys (old and new while rotating).
  create --name NAME --scope ${SCOPES.join(",")} --expires 30d|12h|90m|3600s [--key FILE] [--json]
      Mint a token, store its hash in D1, print the token once.
  list [--json]
      Every token: id, name, scopes, created, expires, status.
  revoke ID
      End a token now.

  D1 (create, list, revoke): the local database by default;
    --persist-to DIR   wrangler's local state folder (default .wrangler/state)
    --config FILE      wrangler.toml (default the repository's)
    --remote           the deployed database (create then needs --key)`;

const D1_OPTIONS = {
  remote: { type: "boolean" },
  local: { type: "boolean" },
  "persist-to": { type: "string" },
  config: { type: "string" },
} as const;

function d1Target(values: { remote?: boolean | undefined; local?: boolean | undefined; "persist-to"?: string | undefined; config?: string | undefined }): D1Target {
  if (values.remote && (values.local || values["persist-to"] !== undefined)) throw usageError("--remote goes with neither --local nor --persist-to");
  return {
    remote: values.remote ?? false,
    persistTo: values["persist-to"] === undefined ? undefined : path.resolve(values["persist-to"]),
    config: values.config === undefined ? DEFAULT_CONFIG : path.resolve(values.config),
  };
}

const keyFile = (value: string | undefined) => (value === undefined ? DEFAULT_KEY_FILE : path.resolve(value));

async function init(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { key: { type: "string" }, force: { type: "boolean" } } });
  const file = keyFile(values.key);
  const { publicJwk } = await createSigningKeyFile(file, { force: values.force ?? false });
  const set = JSON.stringify({ keys: [publicJwk] });
  console.error(`Wrote the private signing key ${publicJwk.kid} to ${file} (mode 0600). Keep it off the edge.`);
  console.error("Give the edge its public half (add older keys with `token public-keys --key OLD --key NEW` while rotating):");
  console.error(`  deployed: npx wrangler secret put TOKEN_PUBLIC_KEYS   (paste the line below)`);
  console.error(`  locally:  npx wrangler dev --var 'TOKEN_PUBLIC_KEYS:${set}'   (npm start does this)`);
  console.log(set);
}

async function publicKeys(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { key: { type: "string", multiple: true } } });
  const files = (values.key ?? [undefined]).map(keyFile);
  const jwks = await Promise.all(files.map(readSigningKey));
  console.log(JSON.stringify(publicJwkSet(jwks)));
}

async function create(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { name: { type: "string" }, scope: { type: "string" }, expires: { type: "string" }, key: { type: "string" }, json: { type: "boolean" }, ...D1_OPTIONS },
  });
  const name = parseName(values.name);
  const scopes = parseScopes(values.scope);
  if (values.expires === undefined) throw usageError("--expires is required: 30d, 12h, 90m or 3600s");
  const expiresInSeconds = parseDuration(values.expires);
  const target = d1Target(values);
  // The default key is the local stack's; a deployed edge's tokens are signed with its own.
  if (target.remote && values.key === undefined) throw usageError("--remote needs --key FILE: the deployed edge's signing key, not the local one");
  const privateJwk = await readSigningKey(keyFile(values.key));
  const { token, record } = await createToken(target, privateJwk, { name, scopes, expiresInSeconds });
  if (values.json) {
    console.log(JSON.stringify({ id: record.id, token, expiresAt: isoSeconds(record.expiresAt) }));
    return;
  }
  console.log(token);
  console.error(`Token ${record.id} for ${JSON.stringify(name)} (${scopes.join(" ")}), signed by ${privateJwk.kid}, expires ${isoSeconds(record.expiresAt)}.`);
  console.error("This is the only time it is shown: D1 keeps its hash, not the token.");
}

async function list(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { json: { type: "boolean" }, ...D1_OPTIONS } });
  const tokens = await listTokens(d1Target(values));
  const now = Date.now();
  if (values.json) console.log(JSON.stringify(tokens.map((t) => listingJson(t, now)), null, 2));
  else if (tokens.length === 0) console.error("no tokens");
  else console.log(listingTable(tokens, now));
}

async function revoke(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: D1_OPTIONS, allowPositionals: true });
  if (positionals.length > 1) throw usageError("revoke takes one token id");
  const id = parseTokenId(positionals[0]);
  const revoked = await revokeToken(d1Target(values), id);
  if (!revoked) throw new CliError(`no token with id ${id} (ids are in \`token list\`)`);
  const { token, alreadyRevoked } = revoked;
  if (alreadyRevoked) console.error(`Token ${token.id} (${JSON.stringify(token.name)}) was already revoked at ${isoSeconds(token.revokedAt!)}.`);
  else console.error(`Revoked token ${token.id} (${JSON.stringify(token.name)}).`);
}

const COMMANDS: Record<string, (args: string[]) => Promise<void>> = { init, "public-keys": publicKeys, create, list, revoke };

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  const run = COMMANDS[command];
  if (!run) {
    console.error(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
    return 2;
  }
  try {
    await run(args);
    return 0;
  } catch (error) {
    if (error instanceof CliError) {
      console.error(`token ${command}: ${error.message}`);
      return error.exitCode;
    }
    // parseArgs: an unknown option, a missing value, a stray argument.
    if (error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")) {
      console.error(`token ${command}: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
