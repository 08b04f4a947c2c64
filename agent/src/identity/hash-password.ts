// `npm run agent:hash-password`: reads a passcode from standard input (so it
// stays out of shell history and process lists) and prints the scrypt hash
// to put in the agent's [[identity.users]] password_hash.
import { hashPassword } from "./password.ts";

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
// One trailing newline is the terminal's, not the passcode's.
const password = Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
if (password === "") {
  console.error("usage: echo -n 'passcode' | npm run -s agent:hash-password");
  process.exit(2);
}
console.log(await hashPassword(password));
