/**
 * Outgoing DICOM-TLS connections (PS3.15 B.9, BCP 195 profile), for peers
 * the agent calls itself, such as C-MOVE destinations.
 */
import { isIP } from "node:net";
import tls, { type TLSSocket } from "node:tls";
import { bcp195ContextOptions, type Pem } from "./profile.ts";

export interface TlsConnectOptions {
  host: string;
  port: number;
  /**
   * Trust anchors for the peer's certificate. Without it the system store
   * is used; a hospital CA almost always has to be given here.
   */
  ca?: Pem;
  /** Our certificate and key, for peers that require client authentication (PS3.15 B.9). */
  cert?: Pem;
  key?: Pem;
  /**
   * Name checked against the peer's certificate (and sent as SNI). Defaults
   * to `host`. DICOM peers are often addressed by IP; their certificate then
   * needs that IP as a subjectAltName, or the expected DNS name given here.
   */
  servername?: string;
  /** Gives up when TCP connect plus handshake take longer, ms. Default 30 s, PS3.8 9.1.5's usual ARTIM. */
  timeoutMs?: number;
}

/** A failed outgoing TLS connection; `cause` is the socket or handshake error. */
export class TlsConnectError extends Error {
  readonly code = "ERR_DICOM_TLS_CONNECT";
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "TlsConnectError";
  }
}

/**
 * Opens a TLS connection under the BCP 195 profile and resolves once the
 * handshake succeeded and the peer's certificate verified (chain against
 * `ca` and name against `servername`). Never resolves with an
 * unauthenticated socket: `rejectUnauthorized` is not an option here.
 */
export function connectTls(options: TlsConnectOptions): Promise<TLSSocket> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const servername = options.servername ?? options.host;
    const socket = tls.connect({
      host: options.host,
      port: options.port,
      ...bcp195ContextOptions(),
      ...(options.ca !== undefined ? { ca: options.ca } : {}),
      ...(options.cert !== undefined ? { cert: options.cert } : {}),
      ...(options.key !== undefined ? { key: options.key } : {}),
      // RFC 6066 3: SNI carries DNS names only, never a literal IP address.
      ...(isIP(servername) === 0 ? { servername } : {}),
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity(servername, cert),
      rejectUnauthorized: true,
    });
    const timer = setTimeout(() => fail(new TlsConnectError(`TLS connection to ${options.host}:${options.port} not established within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err instanceof TlsConnectError ? err : new TlsConnectError(`TLS connection to ${options.host}:${options.port} failed: ${err.message}`, { cause: err }));
    };
    socket.once("error", fail);
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      socket.off("error", fail);
      resolve(socket);
    });
  });
}
