/**
 * Associations the agent requests itself: to a C-MOVE destination, or to
 * the target of the edge's SEND, both named in its AE table. The stores on
 * them carry the archive's bytes unchanged, so each presentation context
 * offers exactly the syntax an instance is stored in (the agent never
 * transcodes, DESIGN: Byte-faithful).
 */
import { readFile } from "node:fs/promises";
import net from "node:net";
import { DICOM_APPLICATION_CONTEXT, emptyUserInformation, type AssociateRq, type PresentationContextRq } from "../ul/pdu.ts";
import { Association, type AssociationOptions } from "../ul/association.ts";
import { connectTls } from "../tls/client.ts";
import type { AeTableEntry } from "../config/config.ts";
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from "../dimse/identity.ts";

/** PS3.8 9.3.2.2: presentation context ids are odd, 1 to 255: at most 128 per association. */
export const MAX_PRESENTATION_CONTEXTS = 128;

export interface OpenOptions {
  /** Our AE title, as the Calling AE Title. */
  callingAeTitle: string;
  /** The [SOP Class UID, Transfer Syntax UID] pairs to propose, one context each. */
  contexts: readonly (readonly [string, string])[];
  /** Our Maximum Length for P-DATA-TF we receive (PS3.8 D.1). */
  maxPduLength: number;
  /** Bounds TCP connect, TLS handshake and the wait for A-ASSOCIATE-AC, ms. Default 30 s. */
  timeoutMs?: number;
  /** Abort the association after this long without traffic, ms. Default 5 min. */
  idleTimeoutMs?: number;
  /**
   * A C-GET SCU's additions (PS3.4 C.4.3.3): the SCP role for these SOP
   * Classes by role selection (PS3.7 D.3.3.4), and the handler of the
   * requests (C-STORE sub-operations) the peer then sends on the association.
   */
  scp?: { sopClasses: readonly string[]; onMessage: NonNullable<AssociationOptions["onMessage"]> };
  log?(message: string): void;
}

/** The A-ASSOCIATE-RQ for the given pairs: context ids 1, 3, 5, ... in order, one transfer syntax each. */
export function associateRq(calledAeTitle: string, options: Pick<OpenOptions, "callingAeTitle" | "contexts" | "maxPduLength">): AssociateRq {
  if (options.contexts.length === 0) throw new RangeError("an association needs at least one presentation context");
  if (options.contexts.length > MAX_PRESENTATION_CONTEXTS) throw new RangeError(`more than ${MAX_PRESENTATION_CONTEXTS} presentation contexts`);
  const presentationContexts: PresentationContextRq[] = options.contexts.map(([abstractSyntax, transferSyntax], i) => ({
    id: 2 * i + 1,
    abstractSyntax,
    transferSyntaxes: [transferSyntax],
  }));
  const userInformation = emptyUserInformation();
  userInformation.maxLength = options.maxPduLength;
  userInformation.implementationClassUid = IMPLEMENTATION_CLASS_UID;
  userInformation.implementationVersionName = IMPLEMENTATION_VERSION_NAME;
  return {
    type: "associate-rq",
    protocolVersion: 1,
    calledAeTitle,
    callingAeTitle: options.callingAeTitle,
    applicationContext: DICOM_APPLICATION_CONTEXT,
    presentationContexts,
    userInformation,
  };
}

/**
 * Connects to the AE table entry (plain TCP, or DICOM-TLS with its CA and
 * client certificate) and requests the association. Resolves once it is
 * established; rejects with AssociationRejectedError when the peer says
 * no, or with the connection's error.
 */
export async function openAssociation(destination: AeTableEntry, options: OpenOptions): Promise<Association> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const socket = destination.tls
    ? await connectTls({
        host: destination.host,
        port: destination.port,
        timeoutMs,
        ...(destination.ca ? { ca: await readFile(destination.ca) } : {}),
        ...(destination.cert ? { cert: await readFile(destination.cert) } : {}),
        ...(destination.key ? { key: await readFile(destination.key) } : {}),
        ...(destination.servername ? { servername: destination.servername } : {}),
      })
    : await connectTcp(destination.host, destination.port, timeoutMs);
  const request = associateRq(destination.title, options);
  // SCU role 0, SCP role 1: only the storage SCP role, as a C-GET SCU takes it.
  if (options.scp) request.userInformation.roleSelections = options.scp.sopClasses.map((sopClassUid) => ({ sopClassUid, scuRole: 0, scpRole: 1 }));
  const association = new Association(socket, {
    maxPduLength: options.maxPduLength,
    request,
    artimTimeoutMs: timeoutMs,
    ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
    ...(options.scp ? { onMessage: options.scp.onMessage } : {}),
    onProtocolEvent: (e) => options.log?.(`dimse-scu ${destination.title}@${destination.host}:${destination.port} ${e.kind}: ${e.message}`),
  });
  await association.established;
  return association;
}

function connectTcp(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => fail(new Error(`no TCP connection to ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.once("error", fail);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.off("error", fail);
      resolve(socket);
    });
  });
}
