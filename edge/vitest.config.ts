import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

const root = path.resolve(import.meta.dirname, "..");

// Edge tests run inside workerd with the Worker's real bindings (D1, R2,
// Durable Objects); migrations are applied by test/apply-migrations.ts.
export default defineConfig(async () => ({
  plugins: [
    cloudflareTest({
      main: path.join(root, "edge/src/index.ts"),
      wrangler: { configPath: path.join(root, "wrangler.toml") },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: await readD1Migrations(path.join(root, "edge/migrations")),
          // The agents the tests connect as (edge/test/send.test.ts); the secret in production.
          AGENT_KEYS: JSON.stringify({ "site-a": "test-key-site-a", "site-b": "test-key-site-b" }),
          // The tests of the routes themselves call SELF without tokens; the
          // auth tests call the app with an env where auth is on (edge/test/auth.ts).
          AUTH_DISABLED: "local-development-only",
          // FHIR Subscription retries at once in the tests (wrangler.toml: 10 s, doubling).
          SUBSCRIPTION_RETRY_BASE_SECONDS: "0",
        },
      },
    }),
  ],
  test: {
    include: ["edge/src/**/*.test.ts", "edge/test/**/*.test.ts"],
    setupFiles: ["edge/test/apply-migrations.ts"],
    // The OpenID Connect issuer's JWKS endpoint the auth tests fetch keys from;
    // the rest-hook receiver of the FHIR Subscription tests; the FHIR
    // server the FHIR push tests push to (edge/src/fhir/push).
    globalSetup: ["edge/test/jwks-server.ts", "edge/test/hook-receiver.ts", "edge/test/fhir-server.ts"],
  },
}));
