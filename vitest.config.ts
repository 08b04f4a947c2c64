import { defineConfig } from "vitest/config";

// Unit tests of shared/ and the agent run in Node; the
// Worker's own tests run inside workerd (edge/vitest.config.ts) and the
// end-to-end tests against `wrangler dev` (e2e/vitest.config.ts).
export default defineConfig({
  test: {
    include: ["shared/src/**/*.test.ts", "agent/src/**/*.test.ts", "edge/cli/**/*.test.ts"],
  },
});
