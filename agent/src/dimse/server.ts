/**
 * The agent's DIMSE SCP: Verification (C-ECHO) and Storage (C-STORE) on
 * top of our own upper layer (`../ul`). Data sets reach the store handler
 * as the bytes the modality sent, streamed, never parsed or re-encoded.
 */
import net from "node:net";
import { Status } from "@dicom-edge/shared/dicom/status";
import { transferSyntax } from "@dicom-edge/shared/dicom/transfer-syntax";
import { Association, type IncomingMessage } from "../ul/association.ts";
import { Reject, negotiate, type NegotiationPolicy } from "../ul/negotiation.ts";
import { CommandField, type Command } from "./command.ts";
import { VERIFICATION_SOP_CLASS, isStorageSopClass } from "./storage-sop-classes.ts";

export interface AssociationContext {
  callingAeTitle: string;
  calledAeTitle: string;
  /** The peer's address, for logs and access control. */
  remoteAddress: string;
}

export interface StoreContext extends AssociationContext {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** The data set bytes exactly as received, in order, never re-encoded. */
  dataset: AsyncIterable<Uint8Array>;
}

/** What a handler answers; the status goes into the response unchanged (PS3.7 C, PS3.4 B.2.3). */
export interface HandlerResult {
  status: number;
  errorComment?: string;
}

export interface DimseHandlers {
  echo(ctx: AssociationContext): Promise<HandlerResult>;
  store(ctx: StoreContext): Promise<HandlerResult>;
}

export interface DimseServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  aeTitle: string;
  /** Our Maximum Length for received P-DATA-TF (PS3.8 D.1). */
  maxPduLength: number;
  handlers: DimseHandlers;
  /** Beyond this many open associations, new ones are rejected transiently (PS3.8 Table 9-21, local-limit-exceeded). */
  maxAssociations?: number;
  /** When given, only these calling AE titles may associate. */
  acceptedCallingAeTitles?: readonly string[];
  /** Abstract syntaxes to accept for C-STORE beyond the standard list (e.g. private SOP classes). */
  extraAbstractSyntaxes?: readonly string[];
  implementationClassUid?: string;
  implementationVersionName?: string;
  artimTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** Diagnostics sink, one line per event (protocol errors, aborts, rejections). */
  log?(message: string): void;
}

export interface DimseServer {
  port: number;
  /** Stops listening, aborts open associations, and resolves when every socket is closed. */
  close(): Promise<void>;
}

/** Our implementation identity (PS3.7 D.3.3.2), a UUID-derived root (PS3.5 B.2). */
const IMPLEMENTATION_CLASS_UID = "2.25.181339042962731393611349924461425532961";
const IMPLEMENTATION_VERSION_NAME = "DICOM_EDGE_1";

/** PS3.7 C.4.2 / Annex C: Refused: SOP Class not supported. */
const SOP_CLASS_NOT_SUPPORTED = Status.SOPClassNotSupported;
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
    abstractSyntaxes: (uid) => uid === VERIFICATION_SOP_CLASS || isStorageSopClass(uid) || extra.has(uid),
    // Every syntax we know is accepted as is: we never decode the data set,
    // so a compressed or deflated one costs us nothing; unknown (private)
    // syntaxes are refused since the archive could not serve them later.
    transferSyntaxes: (_abstract, ts) => transferSyntax(ts) !== undefined,
    maxPduLength: options.maxPduLength,
    implementationClassUid: options.implementationClassUid ?? IMPLEMENTATION_CLASS_UID,
    implementationVersionName: options.implementationVersionName ?? IMPLEMENTATION_VERSION_NAME,
  };
  const associations = new Set<Association>();

  const onMessage = async (message: IncomingMessage, association: Association, remoteAddress: string): Promise<Command | undefined> => {
    const { command, context } = message;
    const base: AssociationContext = {
      callingAeTitle: association.callingAeTitle,
      calledAeTitle: association.calledAeTitle,
      remoteAddress,
    };
    const respond = (commandField: number, result: HandlerResult, extraFields: Partial<Command> = {}): Command => ({
      commandField,
      affectedSopClassUid: command.affectedSopClassUid ?? context.abstractSyntax,
      messageIdBeingRespondedTo: command.messageId ?? 0,
      status: result.status,
      ...(result.errorComment !== undefined ? { errorComment: result.errorComment } : {}),
      ...extraFields,
    });

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
        const dataset = message.dataset;
        const result = await runHandler(() =>
          options.handlers.store({
            ...base,
            sopClassUid: context.abstractSyntax,
            sopInstanceUid,
            transferSyntaxUid: context.transferSyntax,
            dataset,
          }),
        );
        return respond(CommandField.CStoreRsp, result, instance);
      }
      case CommandField.CCancelRq:
        // PS3.7 9.3.2.3: C-CANCEL has no response; nothing here is cancellable.
        return undefined;
      default:
        // C-FIND/C-GET/C-MOVE/N-* on a storage context: PS3.7 C.5.1.
        return respond(command.commandField | 0x8000, { status: UNRECOGNIZED_OPERATION });
    }
  };

  const server = net.createServer((socket) => {
    const remoteAddress = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
    const log = (kind: string, message: string) => options.log?.(`dimse ${remoteAddress} ${kind}: ${message}`);
    const association: Association = new Association(socket, {
      maxPduLength: options.maxPduLength,
      artimTimeoutMs: options.artimTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs,
      negotiate: (rq) => {
        const max = options.maxAssociations;
        // Count the established ones plus this one.
        const open = [...associations].filter((a) => a !== association && (a.state === "Sta6" || a.state === "Sta8")).length;
        if (max !== undefined && open >= max) return { reject: Reject.localLimitExceeded };
        const result = negotiate(rq, policy);
        if ("reject" in result) log("associate-rj", `${rq.callingAeTitle} -> ${rq.calledAeTitle}: ${JSON.stringify(result.reject)}`);
        return result;
      },
      onMessage: (message, a) => onMessage(message, a, remoteAddress),
      onProtocolEvent: (e) => log(e.kind, e.message),
    });
    associations.add(association);
    void association.closed.then(() => associations.delete(association));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;

  return {
    port,
    close: async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...associations].map((a) => a.abort()));
      await stopped;
    },
  };
}
