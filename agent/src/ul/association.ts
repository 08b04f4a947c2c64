/**
 * One association on one socket, either role. The protocol's states and
 * events are the pure `next` of state-machine.ts (PS3.8 9.2); this driver
 * owns the socket and the timers, applies the actions, reassembles DIMSE
 * messages from PDV fragments, streams received data sets to the DIMSE
 * layer with backpressure, fragments what it sends to the peer's maximum
 * PDU length, and pairs the responses it receives with the requests it
 * sent (C-STORE sub-operations of a C-GET on an accepted association, or
 * the stores of a C-MOVE on one we requested).
 */
import type { Socket } from "node:net";
import { Readable } from "node:stream";
import { CommandField, decodeCommand, encodeCommand, hasDataSet, type Command, CommandError } from "../dimse/command.ts";
import { Reject, acceptedContexts, type AcceptedContext, type NegotiationResult } from "./negotiation.ts";
import { encodePDataHeader, encodePdu, type AssociateAc, type AssociateRj, type AssociateRq } from "./pdu.ts";
import { AbortReason, PduReader, type PduReaderEvent } from "./pdu-reader.ts";
import { Fragmenter, type Fragment } from "./fragmenter.ts";
import { next, type StateName, type UlAction, type UlEvent } from "./state-machine.ts";

// ------------------------------------------------------------ driver

/** A DIMSE message received on an association. */
export interface IncomingMessage {
  context: AcceptedContext;
  command: Command;
  /**
   * The data set bytes exactly as received, in order, when the command
   * announces one. Reading it slowly slows the peer: the socket is paused
   * while this stream is full.
   */
  dataset?: Readable;
}

/** A response with its data set: a C-GET/C-MOVE final response listing failed instances. */
export interface Reply {
  command: Command;
  dataset?: Uint8Array;
}

/** A response to a request we sent (see `Association.request`). */
export interface ResponseMessage {
  command: Command;
  /** The response's data set (a C-GET/C-MOVE failed-instance list, a C-FIND match), when it has one. */
  dataset?: Uint8Array;
}

/** The peer refused our A-ASSOCIATE-RQ (PS3.8 9.3.4). */
export class AssociationRejectedError extends Error {
  readonly code = "ERR_ASSOCIATION_REJECTED";
  constructor(readonly rejection: Pick<AssociateRj, "result" | "source" | "reason">) {
    super(`association rejected: result ${rejection.result}, source ${rejection.source}, reason ${rejection.reason}`);
    this.name = "AssociationRejectedError";
  }
}

export interface AssociationOptions {
  /** Our Maximum Length for P-DATA-TF (PS3.8 D.1), advertised in our RQ or AC. */
  maxPduLength: number;
  /**
   * Acceptor: decides the peer's A-ASSOCIATE-RQ (see negotiation.ts); may
   * take a while (a user identity checked by the edge), during which the
   * association waits in Sta3 and a peer's A-ABORT or close still ends it.
   */
  negotiate?(rq: AssociateRq): NegotiationResult | Promise<NegotiationResult>;
  /** Requestor: the A-ASSOCIATE-RQ to send on the (already connected) socket. */
  request?: AssociateRq;
  /**
   * Performs one DIMSE operation the peer asked for. The returned command
   * is sent as the response once the request's data set has been fully
   * received (and discarded where the handler did not read it); undefined
   * sends nothing (C-CANCEL). A rejection aborts the association. Without
   * it, a request from the peer aborts the association.
   */
  onMessage?(message: IncomingMessage, association: Association): Promise<Command | Reply | undefined>;
  /** PS3.8 9.1.5 ARTIM, ms. Default 30 s (dcmtk's ACSE timeout). */
  artimTimeoutMs?: number;
  /** Abort an established association after this long without traffic or work, ms. Default 5 min. */
  idleTimeoutMs?: number;
  /** Cap for a command set (PS3.7 9.3: a few hundred bytes in practice). Default 64 KiB. */
  maxCommandLength?: number;
  /** Buffered bytes of an unread data set before the socket is paused. Default 1 MiB. */
  datasetHighWaterMark?: number;
  /** Diagnostics: protocol errors and aborts, never thrown. */
  onProtocolEvent?(event: { kind: "pdu-error" | "protocol-error" | "peer-abort" | "handler-error"; message: string }): void;
}

/** Command Field bit 15 marks a response (PS3.7 E.1); C-CANCEL-RQ (0FFF) has it clear. */
function isResponse(command: Command): boolean {
  return (command.commandField & 0x8000) !== 0;
}

/** PS3.4 C.4.1.1.4, C.4.2.1.5, C.4.3.1.4: FF00/FF01 say more responses follow. */
function isPending(status: number | undefined): boolean {
  return status === 0xff00 || status === 0xff01;
}

/** When the peer advertises "no limit" (0), we still send bounded PDUs. */
const UNLIMITED_PEER_FRAGMENT = 64 * 1024;

interface CommandAssembly {
  contextId: number;
  parts: Uint8Array[];
  length: number;
}

/** A response's data set, kept whole (PS3.7: an identifier of a few hundred bytes), bounded by `MAX_RESPONSE_DATASET`. */
interface ResponseAssembly {
  contextId: number;
  command: Command;
  parts: Uint8Array[];
  length: number;
}

/** Larger response data sets abort the association rather than grow memory. */
const MAX_RESPONSE_DATASET = 1024 * 1024;

interface Waiter {
  /** Pending responses (FF00/FF01) of a C-FIND/C-GET/C-MOVE, before the final one. */
  onPending?(response: ResponseMessage): void;
  resolve(response: ResponseMessage): void;
  reject(error: Error): void;
  /** Settles with the answer either way; never rejects. */
  done: Promise<void>;
}

interface DatasetReception {
  contextId: number;
  stream: Readable;
  /** Set once the handler is done: further bytes are dropped, not buffered. */
  discard: boolean;
  done: Promise<void>;
  finish: () => void;
}

export class Association {
  private stateName: StateName = "Sta1";
  private readonly reader: PduReader;
  private artim: NodeJS.Timeout | undefined;
  private idle: NodeJS.Timeout | undefined;
  private contexts: ReadonlyMap<number, AcceptedContext> = new Map();
  private peerMaxPduLength = 0;
  private deliverPData = false;
  private command: CommandAssembly | undefined;
  private currentPdv: { contextId: number; isCommand: boolean; isLast: boolean } | undefined;
  private dataset: DatasetReception | undefined;
  /** Operations started and not yet answered (response handed to the socket). */
  private inFlight = 0;
  /** Of those, C-GETs: they send requests on this association and await the peer's responses. */
  private runningGet = 0;
  private releasePending = false;
  /** Why the socket is paused: a full data set stream, or an operation waiting for its turn. */
  private pausedForBackpressure = false;
  private pausedForWindow = false;
  /**
   * Reader events not yet acted on. Normally drained as soon as a chunk is
   * read; held back while `waiting` is set, so a pipelined request (and its
   * data set fragments) waits for the operation before it.
   */
  private queue: PduReaderEvent[] = [];
  private queueAt = 0;
  /** A request that arrived while another operation ran (see `onCommand`). */
  private waiting: { context: AcceptedContext; command: Command } | undefined;
  private sendChain: Promise<void> = Promise.resolve();
  private resolveClosed!: () => void;
  /** Resolves when the transport is closed and the state is Sta1 again. */
  readonly closed: Promise<void> = new Promise((resolve) => (this.resolveClosed = resolve));
  /** Requestor: settles with the peer's answer to our A-ASSOCIATE-RQ. */
  private establishment: { resolve(): void; reject(error: Error): void } | undefined;
  /** Requests we sent, by Message ID, awaiting their response. */
  private readonly awaiting = new Map<number, Waiter>();
  /** A response whose data set is still arriving. */
  private response: ResponseAssembly | undefined;
  private lastMessageId = 0;
  associateRq: AssociateRq | undefined;
  /** Requestor: the peer's A-ASSOCIATE-AC. */
  associateAc: AssociateAc | undefined;

  /**
   * `socket` must be connected (for DICOM-TLS: handshake done). As
   * acceptor (`negotiate`), the association waits for the peer's RQ; as
   * requestor (`request`), it sends the RQ at once and `established`
   * settles with the answer.
   */
  constructor(
    private readonly socket: Socket,
    private readonly options: AssociationOptions,
  ) {
    this.reader = new PduReader({ maxPDataLength: options.maxPduLength });
    // Without it every small response waits for the peer's delayed ACK
    // (about 40 ms per exchange on Linux).
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (err) => this.options.onProtocolEvent?.({ kind: "protocol-error", message: `socket: ${err.message}` }));
    socket.on("close", () => this.dispatch({ type: "transport-closed" }));
    if (options.request) {
      const rq = options.request;
      this.associateRq = rq;
      this.established = new Promise<void>((resolve, reject) => (this.establishment = { resolve, reject }));
      // Callers that never await it must not see an unhandled rejection.
      this.established.catch(() => undefined);
      this.dispatch({ type: "associate-request", rq });
      this.dispatch({ type: "transport-confirmed", rq });
    } else {
      this.established = Promise.resolve();
      this.dispatch({ type: "transport-connected" });
    }
  }

  /** Requestor: resolves on A-ASSOCIATE-AC, rejects on A-ASSOCIATE-RJ (`AssociationRejectedError`), abort or close. */
  readonly established: Promise<void>;

  /** The accepted presentation contexts, by id. */
  get presentationContexts(): ReadonlyMap<number, AcceptedContext> {
    return this.contexts;
  }

  get state(): StateName {
    return this.stateName;
  }

  get callingAeTitle(): string {
    return this.associateRq?.callingAeTitle ?? "";
  }

  get calledAeTitle(): string {
    return this.associateRq?.calledAeTitle ?? "";
  }

  /** Aborts the association (A-ABORT, service-user source) and resolves when the socket is closed. */
  abort(): Promise<void> {
    this.dispatch({ type: "local-abort" });
    if (this.stateName === "Sta13") this.socket.destroySoon();
    return this.closed;
  }

  /**
   * Requestor: releases the association (PS3.8 AR-1) once every request we
   * sent has its response (PS3.7 D.3.3: release waits for outstanding
   * operations), and resolves when the transport is closed.
   */
  async release(): Promise<void> {
    while (this.awaiting.size > 0 && this.stateName === "Sta6") {
      await Promise.race([this.closed, ...[...this.awaiting.values()].map((w) => w.done)]);
    }
    await this.sendChain;
    this.dispatch({ type: "release-request" });
    return this.closed;
  }

  /** A Message ID for a request of ours (PS3.7 E.1: unique among our outstanding requests). */
  nextMessageId(): number {
    do this.lastMessageId = (this.lastMessageId % 0xffff) + 1;
    while (this.awaiting.has(this.lastMessageId));
    return this.lastMessageId;
  }

  /**
   * Sends a request (its Message ID set by the caller, see `nextMessageId`)
   * with its data set, and resolves with the peer's response to it. Rejects
   * when the association ends first.
   */
  async request(
    contextId: number,
    command: Command,
    dataset?: Uint8Array | AsyncIterable<Uint8Array>,
    onPending?: (response: ResponseMessage) => void,
  ): Promise<ResponseMessage> {
    const messageId = command.messageId;
    if (messageId === undefined) throw new TypeError("a request needs its Message ID");
    if (this.awaiting.has(messageId)) throw new TypeError(`Message ID ${messageId} is already outstanding`);
    let resolve!: (response: ResponseMessage) => void;
    let reject!: (error: Error) => void;
    const answer = new Promise<ResponseMessage>((res, rej) => ((resolve = res), (reject = rej)));
    // `done` also keeps a rejection from going unhandled when the send fails first.
    this.awaiting.set(messageId, { resolve, reject, done: answer.then(() => undefined, () => undefined), ...(onPending ? { onPending } : {}) });
    try {
      await this.sendMessage(contextId, command, dataset);
    } catch (error) {
      this.awaiting.delete(messageId);
      throw error;
    }
    return answer;
  }

  private dispatch(event: UlEvent): void {
    const { state, actions } = next(this.stateName, event);
    this.stateName = state;
    for (const action of actions) this.apply(action);
  }

  private apply(action: UlAction): void {
    switch (action.type) {
      case "send":
        this.write(encodePdu(action.pdu));
        return;
      case "start-artim":
        clearTimeout(this.artim);
        this.artim = setTimeout(() => this.dispatch({ type: "artim-expired" }), this.options.artimTimeoutMs ?? 30_000);
        this.artim.unref();
        return;
      case "stop-artim":
        clearTimeout(this.artim);
        this.artim = undefined;
        return;
      case "close-transport":
        this.socket.destroy();
        return;
      case "end-transport":
        this.socket.end();
        // A peer that keeps streaming after our A-ABORT must not be able to
        // stall on backpressure: let its bytes flow and be dropped.
        this.socket.resume();
        return;
      case "associate-indication":
        this.onAssociateRq(action.rq);
        return;
      case "associate-confirmation":
        this.associateAc = action.ac;
        this.contexts = acceptedContexts(this.associateRq!, action.ac);
        this.peerMaxPduLength = action.ac.userInformation.maxLength ?? 0;
        this.establishment?.resolve();
        this.touch();
        return;
      case "associate-rejected":
        this.establishment?.reject(new AssociationRejectedError(action.rj));
        return;
      case "release-confirmation":
        return;
      case "deliver-pdata":
        this.deliverPData = true;
        return;
      case "release-indication":
        this.releasePending = true;
        this.maybeRelease();
        return;
      case "abort-indication":
        this.failAll(new Error(`association aborted (source ${action.source}, reason ${action.reason})`));
        return;
      case "closed":
        this.queue = [];
        this.queueAt = 0;
        this.waiting = undefined;
        clearTimeout(this.artim);
        clearTimeout(this.idle);
        this.failAll(new Error("transport closed"));
        this.resolveClosed();
        return;
      default: {
        const never: never = action;
        throw new TypeError(`unknown action ${(never as UlAction).type}`);
      }
    }
  }

  private write(bytes: Uint8Array): boolean {
    if (this.socket.destroyed || this.socket.writableEnded) return true;
    this.touch();
    return this.socket.write(bytes);
  }

  private onAssociateRq(rq: AssociateRq): void {
    this.associateRq = rq;
    if (!this.options.negotiate) {
      this.dispatch({ type: "reject", rejection: Reject.noReasonGiven });
      return;
    }
    const decided = this.options.negotiate(rq);
    if (!(decided instanceof Promise)) {
      this.applyNegotiation(decided);
      return;
    }
    decided.then(
      (result) => this.applyNegotiation(result),
      (error: unknown) => {
        this.options.onProtocolEvent?.({ kind: "handler-error", message: `negotiation failed: ${error instanceof Error ? error.message : String(error)}` });
        this.applyNegotiation({ reject: Reject.noReasonGiven });
      },
    );
  }

  private applyNegotiation(result: NegotiationResult): void {
    // The peer may have aborted or gone while we decided.
    if (this.stateName !== "Sta3") return;
    if ("reject" in result) {
      this.dispatch({ type: "reject", rejection: result.reject });
      return;
    }
    this.contexts = result.contexts;
    this.peerMaxPduLength = result.peerMaxPduLength;
    this.dispatch({ type: "accept", ac: result.accept });
    this.touch();
  }

  // ---- idle timer: only while established and nothing of ours is in progress

  private touch(): void {
    const ms = this.options.idleTimeoutMs ?? 300_000;
    clearTimeout(this.idle);
    if (this.stateName !== "Sta6" && this.stateName !== "Sta7" && this.stateName !== "Sta8") return;
    this.idle = setTimeout(() => {
      // Our own work in progress keeps it open; a peer that owes us a
      // response (a C-STORE sub-operation) and stays silent does not.
      if (this.awaiting.size === 0 && (this.inFlight > 0 || this.dataset)) this.touch();
      else this.dispatch({ type: "local-abort" });
    }, ms);
    this.idle.unref();
  }

  // ---- receiving

  private onData(chunk: Buffer): void {
    if (this.reader.failed || this.stateName === "Sta1") return;
    this.touch();
    for (const event of this.reader.push(chunk)) this.queue.push(event);
    this.drainQueue();
  }

  private drainQueue(): void {
    while (this.queueAt < this.queue.length) {
      if (this.stateName === "Sta1") break;
      if (this.waiting) {
        // Only an A-ABORT overtakes the waiting request: the peer has given
        // up on everything, and PS3.8 9.2 AA-3 wants the transport closed at
        // once, not after the running operation.
        const abort = this.queue.slice(this.queueAt).find((e) => e.type === "pdu" && e.pdu.type === "abort");
        if (abort) {
          this.queue = [];
          this.queueAt = 0;
          this.waiting = undefined;
          this.onReaderEvent(abort);
        }
        return;
      }
      this.onReaderEvent(this.queue[this.queueAt++]!);
    }
    this.queue = [];
    this.queueAt = 0;
  }

  private onReaderEvent(event: PduReaderEvent): void {
    switch (event.type) {
      case "pdu":
        if (event.pdu.type === "abort") {
          this.options.onProtocolEvent?.({ kind: "peer-abort", message: `A-ABORT source ${event.pdu.source} reason ${event.pdu.reason}` });
        }
        this.dispatch({ type: "received", pdu: event.pdu });
        return;
      case "pdata-start":
        this.deliverPData = false;
        this.dispatch({ type: "received", pdu: { type: "p-data-tf" } });
        return;
      case "pdv-start":
        // Only Sta6 carries data (PS3.8 DT-2); after a local A-ABORT the rest
        // of an interrupted P-DATA-TF must not start new work.
        if (this.deliverPData && this.carriesData) this.onPdvStart(event);
        return;
      case "pdv-data":
        if (this.deliverPData && this.carriesData) this.onPdvData(event.bytes);
        return;
      case "pdv-end":
        if (this.deliverPData && this.carriesData) this.onPdvEnd();
        return;
      case "pdata-end":
        this.deliverPData = false;
        return;
      case "error":
        this.options.onProtocolEvent?.({ kind: "pdu-error", message: `${event.error.code}: ${event.error.message}` });
        this.dispatch({ type: "invalid-pdu", abortReason: event.error.abortReason });
        return;
      default: {
        const never: never = event;
        throw new TypeError(`unknown reader event ${(never as PduReaderEvent).type}`);
      }
    }
  }

  /** P-DATA flows in Sta6, and towards a requestor still in Sta7 (AR-6: responses after our A-RELEASE-RQ). */
  private get carriesData(): boolean {
    return this.stateName === "Sta6" || this.stateName === "Sta7";
  }

  /** A DIMSE framing violation (PS3.7 9.3, PS3.8 Annex E): A-ABORT. */
  private protocolError(message: string, reason: number): void {
    this.options.onProtocolEvent?.({ kind: "protocol-error", message });
    this.deliverPData = false;
    this.dispatch({ type: "invalid-pdu", abortReason: reason });
  }

  private onPdvStart(pdv: { contextId: number; isCommand: boolean; isLast: boolean; length: number }): void {
    if (!this.contexts.has(pdv.contextId)) {
      this.protocolError(`PDV on presentation context ${pdv.contextId}, which was not accepted`, AbortReason.InvalidPduParameterValue);
      return;
    }
    if (pdv.isCommand) {
      // PS3.7 6.3.1 / PS3.8 E.2: a message is its command fragments, then
      // its data set fragments; a new command may not cut a data set short.
      if (this.datasetOpen) {
        this.protocolError("command PDV while a data set was expected", AbortReason.UnexpectedPduParameter);
        return;
      }
      if (this.command && this.command.contextId !== pdv.contextId) {
        this.protocolError("command fragments on two presentation contexts", AbortReason.UnexpectedPduParameter);
        return;
      }
      this.command ??= { contextId: pdv.contextId, parts: [], length: 0 };
    } else {
      if (!this.datasetOpen || (this.dataset ?? this.response)!.contextId !== pdv.contextId) {
        this.protocolError("data set PDV without a command announcing it", AbortReason.UnexpectedPduParameter);
        return;
      }
    }
    this.currentPdv = { contextId: pdv.contextId, isCommand: pdv.isCommand, isLast: pdv.isLast };
  }

  /** True between a command that announced a data set and that data set's last fragment. */
  private datasetOpen = false;

  private onPdvData(bytes: Uint8Array): void {
    const pdv = this.currentPdv;
    if (!pdv) return;
    if (pdv.isCommand) {
      const cmd = this.command!;
      cmd.length += bytes.length;
      if (cmd.length > (this.options.maxCommandLength ?? 64 * 1024)) {
        this.protocolError(`command set longer than ${this.options.maxCommandLength ?? 64 * 1024} bytes`, AbortReason.InvalidPduParameterValue);
        return;
      }
      // Copied: a few hundred bytes, and it must not pin the socket chunk.
      cmd.parts.push(bytes.slice());
      return;
    }
    const response = this.response;
    if (response) {
      response.length += bytes.length;
      if (response.length > MAX_RESPONSE_DATASET) {
        this.protocolError(`response data set longer than ${MAX_RESPONSE_DATASET} bytes`, AbortReason.InvalidPduParameterValue);
        return;
      }
      response.parts.push(bytes.slice());
      return;
    }
    const ds = this.dataset!;
    if (ds.discard) return;
    // Zero-copy: the socket's chunk is not reused by Node once emitted.
    const accepted = ds.stream.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    if (!accepted && !this.pausedForBackpressure) {
      this.pausedForBackpressure = true;
      this.updateFlow();
    }
  }

  private onPdvEnd(): void {
    const pdv = this.currentPdv;
    this.currentPdv = undefined;
    if (!pdv || !pdv.isLast) return;
    if (pdv.isCommand) {
      const cmd = this.command!;
      this.command = undefined;
      const bytes = Buffer.concat(cmd.parts);
      let command: Command;
      try {
        command = decodeCommand(bytes);
      } catch (e) {
        if (!(e instanceof CommandError)) throw e;
        this.protocolError(`undecodable command set: ${e.message}`, AbortReason.InvalidPduParameterValue);
        return;
      }
      if (isResponse(command)) this.onResponse(cmd.contextId, command);
      else this.onCommand(this.contexts.get(cmd.contextId)!, command);
    } else if (this.response) {
      this.datasetOpen = false;
      const { command, parts } = this.response;
      this.response = undefined;
      this.deliverResponse({ command, dataset: Buffer.concat(parts) });
    } else {
      this.datasetOpen = false;
      const ds = this.dataset!;
      if (!ds.discard) ds.stream.push(null);
      ds.finish();
      this.dataset = undefined;
      this.resumeSocket();
    }
  }

  private onResponse(contextId: number, command: Command): void {
    if (hasDataSet(command)) {
      this.response = { contextId, command, parts: [], length: 0 };
      this.datasetOpen = true;
      return;
    }
    this.deliverResponse({ command });
  }

  /** Hands a response to the request it answers; one we did not ask for is logged and dropped. */
  private deliverResponse(response: ResponseMessage): void {
    const id = response.command.messageIdBeingRespondedTo;
    const waiter = id === undefined ? undefined : this.awaiting.get(id);
    if (!waiter) {
      this.options.onProtocolEvent?.({ kind: "protocol-error", message: `response to Message ID ${id}, which is not outstanding` });
      return;
    }
    if (isPending(response.command.status)) {
      waiter.onPending?.(response);
      return;
    }
    this.awaiting.delete(id!);
    waiter.resolve(response);
    this.touch();
  }

  /**
   * We grant an Asynchronous Operations Window of 1/1 (PS3.7 D.3.3.3, also
   * the default when none is negotiated), so a request that arrives while
   * another runs breaks that agreement. It is not refused: the peer's bytes
   * are left in the socket (paused) until the running operation has
   * answered, as dcmtk's SCPs effectively do by reading one message at a
   * time. That keeps one operation and one response in memory per
   * association whatever the peer pipelines. C-CANCEL (PS3.7 9.3.2.3) is
   * the exception: it concerns the running operation and must reach it.
   *
   * Holding is no option while the running operation is a C-GET: its
   * C-STORE sub-operations await responses that the peer sends after the
   * held request, and would wait forever. That breach of the window is
   * answered with A-ABORT.
   */
  private onCommand(context: AcceptedContext, command: Command): void {
    if (this.inFlight > 0 && command.commandField !== CommandField.CCancelRq) {
      if (this.runningGet > 0) {
        this.protocolError("a request beyond the asynchronous operations window during a C-GET", AbortReason.UnexpectedPduParameter);
        return;
      }
      this.waiting = { context, command };
      this.pausedForWindow = true;
      this.updateFlow();
      return;
    }
    this.startMessage(context, command);
  }

  /** The running operation answered: start the request that waited, then read on. */
  private operationDone(): void {
    this.inFlight--;
    if (this.inFlight > 0 || !this.waiting) return;
    const { context, command } = this.waiting;
    this.waiting = undefined;
    this.pausedForWindow = false;
    if (this.stateName === "Sta6") this.startMessage(context, command);
    this.updateFlow();
    this.drainQueue();
  }

  private startMessage(context: AcceptedContext, command: Command): void {
    const onMessage = this.options.onMessage;
    if (!onMessage) {
      this.protocolError(`request ${command.commandField} on an association that serves none`, AbortReason.UnexpectedPduParameter);
      return;
    }
    let dataset: Readable | undefined;
    let received: Promise<void> = Promise.resolve();
    if (hasDataSet(command)) {
      let finish!: () => void;
      const done = new Promise<void>((resolve) => (finish = resolve));
      const stream = new Readable({
        highWaterMark: this.options.datasetHighWaterMark ?? 1024 * 1024,
        read: () => this.resumeSocket(),
      });
      this.dataset = { contextId: context.id, stream, discard: false, done, finish };
      this.datasetOpen = true;
      dataset = stream;
      received = done;
    }
    const reception = dataset ? this.dataset : undefined;
    this.inFlight++;
    const isGet = command.commandField === CommandField.CGetRq;
    if (isGet) this.runningGet++;
    const message: IncomingMessage = dataset ? { context, command, dataset } : { context, command };
    void (async () => {
      let response: Command | Reply | undefined;
      try {
        response = await onMessage(message, this);
      } catch (e) {
        this.options.onProtocolEvent?.({ kind: "handler-error", message: e instanceof Error ? e.message : String(e) });
        this.stopReading(reception);
        this.dispatch({ type: "local-abort" });
        if (isGet) this.runningGet--;
        this.operationDone();
        return;
      }
      // The handler is done with the data set; whatever it left unread is
      // drained here so the peer can finish sending before we answer.
      this.stopReading(reception);
      await received;
      if (response && (this.stateName === "Sta6" || this.stateName === "Sta8")) {
        try {
          const reply = "commandField" in response ? { command: response } : response;
          await this.sendMessage(context.id, reply.command, reply.dataset);
        } catch (e) {
          // The association ended while the response was queued (peer
          // A-ABORT, transport gone): nobody is left to answer.
          this.options.onProtocolEvent?.({ kind: "protocol-error", message: `response not sent: ${e instanceof Error ? e.message : String(e)}` });
        }
      }
      if (isGet) this.runningGet--;
      this.operationDone();
      this.maybeRelease();
      this.touch();
    })();
  }

  private stopReading(reception: DatasetReception | undefined): void {
    if (!reception || reception.discard) return;
    reception.discard = true;
    if (!reception.stream.readableEnded) reception.stream.destroy();
    this.resumeSocket();
  }

  private resumeSocket(): void {
    if (!this.pausedForBackpressure) return;
    this.pausedForBackpressure = false;
    this.updateFlow();
  }

  /** Reads from the socket unless a full data set stream or a waiting request says not to. */
  private updateFlow(): void {
    // Once the association is over, whatever the peer still sends is read
    // and dropped (see "end-transport").
    const over = this.stateName === "Sta13" || this.stateName === "Sta1";
    if (!over && (this.pausedForBackpressure || this.pausedForWindow)) this.socket.pause();
    else this.socket.resume();
  }

  /** The association is gone: whatever waits on it learns so. */
  private failAll(err: Error): void {
    this.failDataset(err);
    this.response = undefined;
    this.establishment?.reject(err);
    for (const waiter of this.awaiting.values()) waiter.reject(err);
    this.awaiting.clear();
  }

  private failDataset(err: Error): void {
    const ds = this.dataset;
    if (!ds) return;
    this.dataset = undefined;
    this.datasetOpen = false;
    if (!ds.discard) ds.stream.destroy(err);
    ds.discard = true;
    ds.finish();
  }

  /** AR-4 once every operation has answered (PS3.7 D.3.3: release waits for outstanding responses). */
  private maybeRelease(): void {
    if (!this.releasePending || this.inFlight > 0) return;
    this.releasePending = false;
    void this.sendChain.then(() => this.dispatch({ type: "release-response" }));
  }

  // ---- sending

  /**
   * Sends a DIMSE message: the command, then the data set if any, in
   * P-DATA-TF PDUs no longer than the peer's Maximum Length (PS3.8 D.1),
   * one PDV each. Messages never interleave.
   */
  sendMessage(contextId: number, command: Command, dataset?: Uint8Array | AsyncIterable<Uint8Array>): Promise<void> {
    const run = async () => {
      const fragment = this.peerMaxPduLength === 0 ? UNLIMITED_PEER_FRAGMENT : Math.max(1, this.peerMaxPduLength - 6);
      const withType: Command = dataset ? { ...command, commandDataSetType: command.commandDataSetType ?? 0x0000 } : command;
      await this.sendFragments(contextId, true, [encodeCommand(withType)], fragment);
      if (dataset) await this.sendFragments(contextId, false, dataset instanceof Uint8Array ? [dataset] : dataset, fragment);
    };
    const p = this.sendChain.then(run);
    this.sendChain = p.catch(() => undefined);
    return p;
  }

  /** Resolves on "drain", or on "close": a socket that died will never drain, and the next flush reports the state. */
  private drained(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        resolve();
      };
      this.socket.on("drain", done);
      this.socket.on("close", done);
    });
  }

  private async sendFragments(
    contextId: number,
    isCommand: boolean,
    source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
    fragment: number,
  ): Promise<void> {
    // Memory stays at one fragment plus one source chunk (views, no copies).
    const fragmenter = new Fragmenter(fragment);
    const send = (fragments: Fragment[]) => {
      // The PDUs of a chunk leave in one writev, not as a 12-byte header and a body each.
      this.socket.cork();
      try {
        for (const { pieces, length, isLast } of fragments) {
          if (this.stateName !== "Sta6" && this.stateName !== "Sta8") throw new Error(`cannot send P-DATA in ${this.stateName}`);
          this.write(encodePDataHeader(contextId, isCommand, isLast, length));
          for (const piece of pieces) this.write(piece);
        }
      } finally {
        this.socket.uncork();
      }
    };
    for await (const chunk of source) {
      send(fragmenter.push(chunk));
      if (this.socket.writableNeedDrain) await this.drained();
    }
    send(fragmenter.finish());
  }
}
