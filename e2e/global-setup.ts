import type { TestProject } from "vitest/node";
import { corpus } from "./data/corpus";
import { startStack } from "./stack";

/** One stack and one corpus for every e2e file: starting workerd is the slow part. */
export default async function setup(project: TestProject) {
  await corpus();
  const stack = await startStack();
  project.provide("base", stack.base);
  project.provide("pgid", stack.pgid);
  return () => stack.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    base: string;
    pgid: number;
  }
}
