// Serves a frozen bundle (see stack.ts) with Miniflare directly: the same
// workerd runtime and local D1, R2, Durable Objects and Queues as `wrangler
// dev`, without wrangler's development proxy in front (live reload, which a
// frozen bundle does not need), whose extra hop per request and per
// WebSocket message is not part of what the benchmarks measure.
// Usage: tsx e2e/miniflare-server.ts <wrangler.toml> <persist dir> <port>
//   with the Worker's extra vars as JSON in DICOMEDGE_STACK_VARS.
// Prints "ready <url>" once it serves; stops on SIGTERM or SIGINT.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

const [config, persist, port] = process.argv.slice(2);
if (!config || !persist || !port) throw new Error("usage: miniflare-server.ts <wrangler.toml> <persist dir> <port>");
/** What is used here of Miniflare, wrangler's own dependency at the version wrangler pins. */
interface MiniflareModule {
  Miniflare: new (options: Record<string, unknown>) => { ready: Promise<URL>; dispose(): Promise<void> };
}
const { Miniflare } = createRequire(import.meta.resolve("wrangler"))("miniflare") as MiniflareModule;
const { workerOptions } = unstable_getMiniflareWorkerOptions(config);
const vars = JSON.parse(process.env.DICOMEDGE_STACK_VARS ?? "{}") as Record<string, string>;
const bundle = dirname(config);
// The folders `wrangler dev --persist-to` uses, so that `wrangler d1` commands see the same data.
const state = join(persist, "v3");
const mf = new Miniflare({
  ...workerOptions,
  modules: true,
  scriptPath: join(bundle, "index.js"),
  modulesRoot: bundle,
  host: "127.0.0.1",
  port: Number(port),
  d1Persist: join(state, "d1"),
  r2Persist: join(state, "r2"),
  durableObjectsPersist: join(state, "do"),
  kvPersist: join(state, "kv"),
  cachePersist: join(state, "cache"),
  bindings: { ...workerOptions.bindings, ...vars },
});
const url = await mf.ready;
console.log(`ready ${url.origin}`);
const stop = () => void mf.dispose().finally(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
