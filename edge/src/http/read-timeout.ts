import type { MiddlewareHandler } from "hono";
import { DicomWebError } from "../dicomweb/errors";

/**
 * Never a hang: a read whose handler has not produced its response (the
 * headers; bodies stream after) within `ms` becomes a 503 the client may
 * retry. Writes are exempt: a STOW-RS takes as long as its upload and a
 * DELETE as its objects.
 */
export function readTimeout(ms: number): MiddlewareHandler {
  return async (c, next) => {
    const method = c.req.method;
    if (method === "POST" || method === "PUT" || method === "DELETE") return next();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DicomWebError(503, `no answer from storage within ${ms / 1000} s; try again`)), ms);
    });
    try {
      await Promise.race([next(), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  };
}
