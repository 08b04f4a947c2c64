// `npm start`: install, apply the local D1 migrations and run the whole stack
// on this machine (the edge on http://127.0.0.1:8787, D1 and R2 on disk under
// .wrangler/state). Ctrl-C stops everything, workerd included.
import { bin, install, run, startGroup } from "./toolchain.mjs";

const port = process.env.PORT ?? "8787";

await install();
await run(bin("wrangler"), ["d1", "migrations", "apply", "DB", "--local"]);

const edge = startGroup(bin("wrangler"), ["dev", "--ip", "127.0.0.1", "--port", port, "--log-level", "info"], {
  stdio: ["ignore", "inherit", "inherit"],
});
console.log(`dicom-edge: DICOMweb at http://127.0.0.1:${port}/dicomweb, health at http://127.0.0.1:${port}/health (Ctrl-C stops)`);

let stopping = false;
function shutdown() {
  if (stopping) return;
  stopping = true;
  edge.stop("SIGTERM");
  // workerd gets a moment to flush D1 and R2 to disk, then the group goes.
  setTimeout(() => edge.stop("SIGKILL"), 3000).unref();
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
edge.child.on("exit", (code) => {
  edge.stop("SIGKILL");
  process.exit(stopping ? 0 : (code ?? 1));
});
