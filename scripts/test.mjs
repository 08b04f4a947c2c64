// `npm test`: install, typecheck, then every suite: shared/ unit tests in
// Node, the Worker's tests inside workerd, and the end-to-end tests against
// `wrangler dev` with real DICOM files.
import { bin, install, run } from "./toolchain.mjs";

await install();
await run(bin("wrangler"), ["types", "edge/worker-configuration.d.ts"], { stdio: ["ignore", "ignore", "inherit"] });
await run(bin("tsc"), ["-p", "tsconfig.json"]);
await run(bin("tsc"), ["-p", "edge/tsconfig.json"]);
await run(bin("vitest"), ["run", "--config", "vitest.config.ts"]);
await run(bin("vitest"), ["run", "--config", "edge/vitest.config.ts"]);
await run(bin("vitest"), ["run", "--config", "e2e/vitest.config.ts"]);
