import { defineConfig } from "vitest/config";

// End-to-end: the real `wrangler dev` (workerd, D1 and R2 on disk) started
// once by global-setup.ts, driven over HTTP on loopback with real DICOM files.
export default defineConfig({
  test: {
    include: ["e2e/**/*.test.ts"],
    globalSetup: ["e2e/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Files share one stack; each uses its own studies, so they may run together.
    fileParallelism: true,
  },
});
