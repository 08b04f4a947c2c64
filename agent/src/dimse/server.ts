/**
 * The agent's DIMSE SCP: Verification (C-ECHO), Storage (C-STORE) and
 * Query/Retrieve (C-FIND, C-GET, C-MOVE) on top of our own upper layer
 * (`../ul`). Data sets reach the store handler as the bytes the modality
 * sent, streamed, never parsed or re-encoded; retrieved instances leave as
 * the bytes the archive stored.
 *
 * It listens on plain TCP, on DICOM-TLS (PS3.15 B.9, BCP 195 profile), or
 * both; an association behaves the same on either, only the socket differs.
 */
import net from "node:net";
import tls, { type TLSSocket } from "node:tls";
import { Status } from "@dicom-edge/shared/dicom/status";
import { transferSyntax } from "@dicom-edge/shared/dicom/transfer-syntax";
import { Association, type IncomingMessage, type Reply } from "../ul/association.ts";
import { Reject, negotiate, type NegotiationPolicy } from "../ul/negotiation.ts";
import { cancelsOf } from "./cancels.ts";
import { isFindSopClass, performCFind, type FindService } from "./c-find.ts";
import { isRetrieveSopClass, performRetrieve, type RetrieveService } from "./c-get-move.ts";
import { CommandField, type Command } from "./command.ts";
import { VERIFICATION_SOP_CLASS, isStorageSopClass } from "./storage-sop-classes.ts";
import { NOT_AUTHORIZED } from "@dicom-edge/shared/tunnel/identity";
import { decideIdentity, withIdentity, type EstablishedIdentity, type IdentityPolicy, type JwtVerifier } from "../identity/identity.ts";
import { bcp195ContextOptions, type Pem } from "../tls/profile.ts";
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from "./identity.ts";

export interface AssociationContext {
  callingAeTitle: string;
  calledAeTitle: string;
  /** Who the peer proved to be (PS3.7 D.3.3.7), and the scopes that gives it. */
  identity: EstablishedIdentity;
  /** The peer's address, for logs and access control. */
  remoteAddress: string;
  /** Set when the association runs over DICOM-TLS, for audit logs. */
  tls?: TlsPeer;
}

/** What the TLS handshake established (PS3.15 B.9). */
export interface TlsPeer {
  /** "TLSv1.2" or "TLSv1.3". */
  protocol: string;
  /** OpenSSL name of the negotiated suite. */
  cipher: string;
  /** Subject of the verified client certificate, as "CN=...,O=..."; absent when none was required. */
  clientCertificateSubject?: string;
}

export interface StoreContext extends AssociationContext {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** The data set bytes exactly as received, in order, never re-encoded. */
  dataset: AsyncIterable<Uint8Array>;
  /** Set when a C-MOVE SCP sends this as a sub-operation (PS3.7 9.1.1.1): whose C-MOVE it serves. */
  moveOriginatorAeTitle?: string;
  moveOriginatorMessageId?: number;
}

/** What a handler answers; the status goes into the response unchanged (PS3.7 C, PS3.4 B.2.3). */
export interface HandlerResult {
  status: number;
  errorComment?: string;
}

export interface DimseHandlers {
  echo(ctx: AssociationContext): Promise<HandlerResult>;
  store(ctx: StoreContext): Promise<HandlerResult>;
  /**
   * Takes a C-STORE away from `store` when it returns a result: the
   * sub-operations of a C-MOVE this agent asked a PACS for, with itself as
   * the Move Destination (PS3.4 C.4.2.3). Undefined: stored as any other.
   */
  divert?(ctx: StoreContext): Promise<HandlerResult> | undefined;
  /** C-FIND (PS3.4 C.4.1): when given, Patient Root and Study Root FIND are accepted. */
  find?: FindService;
  /**
   * C-GET and C-MOVE (PS3.4 C.4.2, C.4.3): when given, Patient Root and
   * Study Root GET and MOVE are accepted, and a requestor may take the SCP
   * role for storage SOP Classes to receive C-GET sub-operations.
   */
  retrieve?: RetrieveService;
}

/**
 * The DICOM-TLS listener (PS3.15 B.9, BCP 195 TLS Secure Transport
 * Connection Profile): TLS 1.2 or 1.3 only, ECDHE with AES-GCM or
 * ChaCha20-Poly1305, our cipher order preferred (see `../tls/profile.ts`).
 */
export interface DimseTlsOptions {
  /** Our certificate chain, PEM (leaf first, then intermediates). */
  cert: Pem;
  /** The private key of `cert`, PEM, unencrypted. */
  key: Pem;
  /** CA certificates, PEM, that client certificates must chain to. Required with `requireClientCertificate`. */
  ca?: Pem;
  /**
   * Demand a client certificate signed under `ca` and refuse the handshake
   * without one (PS3.15 B.9: the profile's peer authentication). Default
   * false: any client may connect and the AE title checks still apply.
   */
  requireClientCertificate?: boolean;
  /** 0 picks a free port (read it back from `DimseServer.tlsPort`). DICOM-TLS's registered port is 2762. */
  port: number;
  /** Interface to bind; defaults to the plain listener's `host`. */
  host?: string;
}

export interface DimseServerOptions {
  /** Interface the plain listener binds (and the TLS one, unless `tls.host` says otherwise). */
  host: string;
  /** Plain TCP port; 0 picks a free port. Ignored when `plain` is false. */
  port: number;
  /**
   * Whether to listen on plain TCP at all. Default true. Set false with
   * `tls` to accept DICOM-TLS only.
   */
  plain?: boolean;
  /** Also (or, with `plain: false`, only) listen for DICOM-TLS. */
  tls?: DimseTlsOptions;
  /** Our AE title: an A-ASSOCIATE-RQ calling another is rejected 1/1/7 (PS3.8 Table 9-21, called-AE-title-not-recognized). */
  aeTitle: string;
  /**
   * Our Maximum Length for received P-DATA-TF (PS3.8 D.1.1): advertised in
   * the A-ASSOCIATE-AC; a P-DATA-TF announcing more is answered by A-ABORT
   * (reason 6, invalid-PDU-parameter-value) before any of its body is read.
   */
  maxPduLength: number;
  handlers: DimseHandlers;
  /**
   * Beyond this many established associations (both listeners together),
   * new ones are rejected 2/3/2: rejected-transient, service-provider
   * (presentation), local-limit-exceeded (PS3.8 Table 9-21). Default: no limit.
   */
  maxAssociations?: number;
  /** When given, only these calling AE titles may associate; others are rejected 1/1/3 (calling-AE-title-not-recognized). */
  acceptedCallingAeTitles?: readonly string[];
  /** Abstract syntaxes to accept for C-STORE beyond the standard list (e.g. private SOP classes). */
  extraAbstractSyntaxes?: readonly string[];
  implementationClassUid?: string;
  implementationVersionName?: string;
  /**
   * ARTIM (PS3.8 9.1.5), ms: how long a connection may sit without an
   * A-ASSOCIATE-RQ, and how long we wait for the peer to close after a
   * reject, release or abort. Also bounds the TLS handshake. Default 30 s.
   */
  artimTimeoutMs?: number;
  /**
   * An established association with no traffic and no operation running
   * for this long is aborted (A-ABORT, source 0) and closed, ms. Default 5 min.
   */
  idleTimeoutMs?: number;
  /**
   * User Identity Negotiation (PS3.7 D.3.3.7): who may associate, and the
   * scopes each gets. Default: identity optional, an anonymous association
   * may read and write, JWTs are refused (nobody to verify them).
   */
  identity?: { policy: IdentityPolicy; verifyJwt: JwtVerifier };
  /** Diagnostics sink, one line per event (protocol errors, aborts, rejections, TLS handshake failures). */
  log?(message: string): void;
}

const DEFAULT_IDENTITY: { policy: IdentityPolicy; verifyJwt: JwtVerifier } = {
  policy: { required: false, acceptJwt: false, anonymousScopes: ["read", "write"], users: [] },
  verifyJwt: async () => "unreachable",
};

export interface DimseServer {
  /** The plain TCP port; when `plain` is false, the TLS port (so there is always one to report). */
  port: number;
  /** The DICOM-TLS port, when `tls` was given. */
  tlsPort?: number;
  /** Stops listening, aborts open associations, and resolves when every socket is closed. */
  close(): Promise<void>;
}

/** A PS3.8 9.1.5 ARTIM default, as dcmtk's ACSE timeout. */
const DEFAULT_ARTIM_TIMEOUT_MS = 30_000;


/** PS3.7 C.4.2 / Annex C: Refused: SOP Class not supported. */
const SOP_CLASS_NOT_SUPPORTED = Status.SOPClassNotSupported;
/** The scope each request needs, as its DICOMweb counterpart does. */
const REQUIRED_SCOPE: Record<number, string> = {
  [CommandField.CStoreRq]: "write",
  [CommandField.CFindRq]: "read",
  [CommandField.CGetRq]: "read",
  [CommandField.CMoveRq]: "read",
};

/** PS3.7 C.5.1: Unrecognized Operation. */
const UNRECOGNIZED_OPERATION = 0x0211;

function validStatus(status: unknown): status is number {
  return typeof status === "number" && Number.isInteger(status) && status >= 0 && status <= 0xffff;
}

/** Maps a handler's outcome to a response status; a throw or nonsense is a processing failure, never Success. */
async function runHandler(run: () => Promise<HandlerResult>): Promise<HandlerResult> {
  try {
    const result = await run();
    if (!result || !validStatus(result.status)) {
      return { status: Status.ProcessingFailure, errorComment: "handler returned no valid status" };
    }
    return result;
  } catch {
    // The error text stays in our logs; the peer gets the status only.
    return { status: Status.ProcessingFailure };
  }
}

export async function startDimseServer(options: DimseServerOptions): Promise<DimseServer> {
  const extra = new Set(options.extraAbstractSyntaxes ?? []);
  const policy: NegotiationPolicy = {
    calledAeTitle: options.aeTitle,
    acceptedCallingAeTitles: options.acceptedCallingAeTitles,
    abstractSyntaxes: (uid) =>
      uid === VERIFICATION_SOP_CLASS ||
      isStorageSopClass(uid) ||
      extra.has(uid) ||
      (options.handlers.find !== undefined && isFindSopClass(uid)) ||
      (options.handlers.retrieve !== undefined && isRetrieveSopClass(uid)),
    requestorMayBeScp: (uid) => options.handlers.retrieve !== undefined && (isStorageSopClass(uid) || extra.has(uid)),
    // Every syntax we know is accepted as is: we never decode the data set,
    // so a compressed or deflated one costs us nothing; unknown (private)
    // syntaxes are refused since the archive could not serve them later.
    transferSyntaxes: (_abstract, ts) => transferSyntax(ts) !== undefined,
    maxPduLength: options.maxPduLength,
    implementationClassUid: options.implementationClassUid ?? IMPLEMENTATION_CLASS_UID,
    implementationVersionName: options.implementationVersionName ?? IMPLEMENTATION_VERSION_NAME,
  };
  const associations = new Set<Association>();
  const identities = new WeakMap<Association, EstablishedIdentity>();
  const identityOptions = options.identity ?? DEFAULT_IDENTITY;

  const onMessage = async (
    message: IncomingMessage,
    association: Association,
    remoteAddress: string,
    tlsPeer: TlsPeer | undefined,
  ): Promise<Command | Reply | undefined> => {
    const { command, context } = message;
    const identity = identities.get(association)!;
    const base: AssociationContext = {
      callingAeTitle: association.callingAeTitle,
      calledAeTitle: association.calledAeTitle,
      identity,
      remoteAddress,
      ...(tlsPeer ? { tls: tlsPeer } : {}),
    };
    const respond = (commandField: number, result: HandlerResult, extraFields: Partial<Command> = {}): Command => ({
      commandField,
      affectedSopClassUid: command.affectedSopClassUid ?? context.abstractSyntax,
      messageIdBeingRespondedTo: command.messageId ?? 0,
      status: result.status,
      ...(result.errorComment !== undefined ? { errorComment: result.errorComment } : {}),
      ...extraFields,
    });

    // The association's scopes, checked here before anything reaches the
    // edge (which checks them again): C-STORE writes, C-FIND/C-GET/C-MOVE read.
    const needed = REQUIRED_SCOPE[command.commandField];
    if (needed && !identity.scopes.includes(needed)) {
      const denied = { status: NOT_AUTHORIZED, errorComment: `${identity.subject} lacks the ${needed} scope`.slice(0, 64) };
      return respond(command.commandField | 0x8000, denied, command.commandField === CommandField.CStoreRq ? { affectedSopInstanceUid: command.affectedSopInstanceUid ?? "" } : {});
    }

    switch (command.commandField) {
      case CommandField.CEchoRq: {
        if (context.abstractSyntax !== VERIFICATION_SOP_CLASS) {
          return respond(CommandField.CEchoRsp, { status: SOP_CLASS_NOT_SUPPORTED });
        }
        return respond(CommandField.CEchoRsp, await runHandler(() => options.handlers.echo(base)));
      }
      case CommandField.CStoreRq: {
        const sopInstanceUid = command.affectedSopInstanceUid ?? "";
        const instance = { affectedSopInstanceUid: sopInstanceUid };
        // PS3.7 9.1.1.1: the Affected SOP Class must be the context's abstract syntax.
        if (!message.dataset || command.affectedSopClassUid !== context.abstractSyntax || context.abstractSyntax === VERIFICATION_SOP_CLASS) {
          return respond(CommandField.CStoreRsp, { status: SOP_CLASS_NOT_SUPPORTED }, instance);
        }
        const store: StoreContext = {
          ...base,
          sopClassUid: context.abstractSyntax,
          sopInstanceUid,
          transferSyntaxUid: context.transferSyntax,
          dataset: message.dataset,
          ...(command.moveOriginatorAeTitle !== undefined ? { moveOriginatorAeTitle: command.moveOriginatorAeTitle } : {}),
          ...(command.moveOriginatorMessageId !== undefined ? { moveOriginatorMessageId: command.moveOriginatorMessageId } : {}),
        };
        const result = await runHandler(() => options.handlers.divert?.(store) ?? options.handlers.store(store));
        return respond(CommandField.CStoreRsp, result, instance);
      }
      case CommandField.CFindRq: {
        const find = options.handlers.find;
        if (!find || !isFindSopClass(context.abstractSyntax)) return respond(CommandField.CFindRsp, { status: SOP_CLASS_NOT_SUPPORTED });
        return performCFind(message, base, find, cancelsOf(association), (response, identifier) => association.sendMessage(context.id, response, identifier));
      }
      case CommandField.CGetRq:
      case CommandField.CMoveRq: {
        const retrieve = options.handlers.retrieve;
        if (!retrieve || !isRetrieveSopClass(context.abstractSyntax)) return respond(command.commandField | 0x8000, { status: SOP_CLASS_NOT_SUPPORTED });
        return performRetrieve(message, association, { ...retrieve, link: withIdentity(retrieve.link, identity.identity) }, cancelsOf(association));
      }
      case CommandField.CCancelRq:
        // PS3.7 9.3.2.3: C-CANCEL has no response; it stops the C-FIND, C-GET or C-MOVE it names.
        cancelsOf(association).cancel(command.messageIdBeingRespondedTo);
        return undefined;
      default:
        // C-FIND/C-GET/C-MOVE/N-* on a storage context: PS3.7 C.5.1.
        return respond(command.commandField | 0x8000, { status: UNRECOGNIZED_OPERATION });
    }
  };

  const accept = (socket: net.Socket, tlsPeer?: TlsPeer) => {
    const remoteAddress = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
    const log = (kind: string, message: string) => options.log?.(`dimse${tlsPeer ? "+tls" : ""} ${remoteAddress} ${kind}: ${message}`);
    const association: Association = new Association(socket, {
      maxPduLength: options.maxPduLength,
      artimTimeoutMs: options.artimTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs,
      negotiate: async (rq) => {
        const max = options.maxAssociations;
        // Count the established ones plus this one.
        const open = [...associations].filter((a) => a !== association && (a.state === "Sta6" || a.state === "Sta8")).length;
        if (max !== undefined && open >= max) return { reject: Reject.localLimitExceeded };
        const result = negotiate(rq, policy);
        if ("reject" in result) {
          log("associate-rj", `${rq.callingAeTitle} -> ${rq.calledAeTitle}: ${JSON.stringify(result.reject)}`);
          return result;
        }
        // PS3.7 D.3.3.7: the identity is decided with the rest of the association.
        const decision = await decideIdentity(rq.userInformation.userIdentityRq, identityOptions.policy, identityOptions.verifyJwt);
        if ("reject" in decision) {
          log("associate-rj", `${rq.callingAeTitle} -> ${rq.calledAeTitle}: ${decision.reason}`);
          return { reject: decision.reject };
        }
        identities.set(association, decision.accept);
        if (decision.serverResponse) result.accept.userInformation.userIdentityAc = { serverResponse: decision.serverResponse, raw: decision.serverResponse };
        return result;
      },
      onMessage: (message, a) => onMessage(message, a, remoteAddress, tlsPeer),
      onProtocolEvent: (e) => log(e.kind, e.message),
    });
    associations.add(association);
    void association.closed.then(() => {
      associations.delete(association);
      cancelsOf(association).cancelAll();
    });
  };

  const listeners: net.Server[] = [];
  /** Sockets of the TLS listener still in their handshake: no association owns them yet. */
  const handshaking = new Set<net.Socket>();
  let plainPort: number | undefined;
  let tlsPort: number | undefined;
  try {
    if (options.plain ?? true) {
      const server = net.createServer((socket) => accept(socket));
      listeners.push(server);
      plainPort = await listen(server, options.port, options.host);
    }
    if (options.tls) {
      const server = createTlsListener(options.tls, options.artimTimeoutMs ?? DEFAULT_ARTIM_TIMEOUT_MS, handshaking, accept, options.log);
      listeners.push(server);
      tlsPort = await listen(server, options.tls.port, options.tls.host ?? options.host);
    }
  } catch (e) {
    await Promise.all(listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve()))));
    throw e;
  }
  if (listeners.length === 0) throw new TypeError("startDimseServer: plain is false and no tls listener is configured");

  return {
    port: plainPort ?? tlsPort!,
    ...(tlsPort !== undefined ? { tlsPort } : {}),
    close: async () => {
      const stopped = Promise.all(listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve()))));
      await Promise.all([...associations].map((a) => a.abort()));
      for (const socket of handshaking) socket.destroy();
      await stopped;
    },
  };
}

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}

/**
 * The DICOM-TLS listener. Associations start only on a completed, verified
 * handshake; anything else (plain DICOM sent to this port, an old TLS
 * version, a missing or foreign client certificate, a stalled handshake)
 * ends in "tlsClientError", where the socket is destroyed and the listener
 * goes on serving.
 */
function createTlsListener(
  options: DimseTlsOptions,
  artimTimeoutMs: number,
  handshaking: Set<net.Socket>,
  accept: (socket: net.Socket, peer: TlsPeer) => void,
  log: ((message: string) => void) | undefined,
): tls.Server {
  const requireClientCertificate = options.requireClientCertificate ?? false;
  // Without our own trust anchors Node would accept client certificates from
  // any public CA in its bundle: never what a hospital network means.
  if (requireClientCertificate && options.ca === undefined) {
    throw new TypeError("startDimseServer: tls.requireClientCertificate needs tls.ca");
  }
  const server = tls.createServer({
    cert: options.cert,
    key: options.key,
    ...(options.ca !== undefined ? { ca: options.ca } : {}),
    ...bcp195ContextOptions(),
    honorCipherOrder: true,
    requestCert: requireClientCertificate,
    rejectUnauthorized: requireClientCertificate,
    // The handshake precedes the A-ASSOCIATE-RQ that ARTIM waits for
    // (PS3.8 9.1.5); a peer gets no longer for both than for the RQ alone.
    handshakeTimeout: artimTimeoutMs,
  });
  server.on("connection", (socket: net.Socket) => {
    handshaking.add(socket);
    socket.once("close", () => handshaking.delete(socket));
  });
  server.on("secureConnection", (socket: TLSSocket) => {
    const cipher = socket.getCipher();
    const peer: TlsPeer = { protocol: socket.getProtocol() ?? "", cipher: cipher.name };
    if (requireClientCertificate) {
      const subject = socket.getPeerCertificate().subject as unknown as Record<string, string | string[]> | undefined;
      if (subject) peer.clientCertificateSubject = Object.entries(subject).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("+") : v}`).join(",");
    }
    accept(socket, peer);
  });
  server.on("tlsClientError", (err, socket) => {
    log?.(`dimse+tls ${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"} tls-handshake-failed: ${err.message}`);
    socket.destroy();
  });
  return server;
}
