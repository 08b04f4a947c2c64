/**
 * Whether the edge may call a configured service (an issuer's keys, a FHIR
 * server, a rest-hook, an upstream DICOMweb server) at `url`: https
 * anywhere, plain http only on loopback (local development and the tests),
 * since requests in the clear could be read or changed on the way.
 */
export function isSecureOrLoopback(url: URL): boolean {
  return url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url.hostname));
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127(\.\d{1,3}){3}$/.test(hostname);
}
