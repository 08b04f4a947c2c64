/**
 * One association on one socket, acceptor side.
 *
 * `next(state, event)` is PS3.8 9.2's state machine (Table 9-10) reduced to
 * the states an acceptor can be in; it is pure and returns the actions to
 * take. `Association` owns the socket and the timers, applies those
 * actions, reassembles DIMSE messages from PDV fragments, streams data sets
 * to the DIMSE layer with backpressure, and fragments what it sends to the
 * peer's maximum PDU length.
 *
 * The requester-only states (Sta4, Sta5, Sta7, Sta9-Sta12) cannot occur: an
 * acceptor never opens a transport, never sends A-ASSOCIATE-RQ and never
 * issues A-RELEASE-RQ (PS3.7 D.3.3: only the requester releases).
 */
import type { Socket } from "node:net";
import { Readable } from "node:stream";
import { CommandField, decodeCommand, encodeCommand, hasDataSet, type Command, CommandError } from "../dimse/command.ts";
import { type AcceptedContext, type NegotiationResult, type Rejection } from "./negotiation.ts";
import {
  encodePDataHeader,
  encodePdu,
  type Abort,
  type AssociateAc,
  type AssociateRq,
  type Pdu,
  type PDataTf,
} from "./pdu.ts";
import { AbortReason, PduReader, type PduReaderEvent } from "./pdu-reader.ts";

// ------------------------------------------------------------ state machine

/** PS3.8 9.2 Table 9-10 states an acceptor passes through. */
export type StateName =
  | "Sta1" // Idle
  | "Sta2" // Transport connection open, awaiting A-ASSOCIATE-RQ PDU
  | "Sta3" // Awaiting local A-ASSOCIATE response primitive
  | "Sta6" // Association established, ready for data transfer
  | "Sta8" // Awaiting local A-RELEASE response primitive
  | "Sta13"; // Awaiting transport connection close

type ReceivedPdu = Exclude<Pdu, PDataTf> | { type: "p-data-tf" };

/** PS3.8 Table 9-10 events, named by what happened. */
export type UlEvent =
  | { type: "transport-connected" } // Evt5
  | { type: "received"; pdu: ReceivedPdu } // Evt3, 4, 6, 10, 12, 13, 16 (unknown type: Evt19)
  | { type: "invalid-pdu"; abortReason: number } // Evt19
  | { type: "accept"; ac: AssociateAc } // Evt7
  | { type: "reject"; rejection: Rejection } // Evt8
  | { type: "release-response" } // Evt14
  | { type: "local-abort" } // Evt15
  | { type: "transport-closed" } // Evt17
  | { type: "artim-expired" }; // Evt18

export type UlAction =
  | { type: "send"; pdu: Pdu }
  | { type: "start-artim" }
  | { type: "stop-artim" }
  /** Drop the transport now (AA-2, AA-3). */
  | { type: "close-transport" }
  /**
   * Flush what was sent and send FIN. After an A-ABORT we also wait for the
   * peer to close, under ARTIM (AA-1, AA-8); ending our side early only
   * speeds up peers that wait for us.
   */
  | { type: "end-transport" }
  | { type: "associate-indication"; rq: AssociateRq }
  /** Pass this P-DATA-TF's PDVs up (DT-2). */
  | { type: "deliver-pdata" }
  | { type: "release-indication" }
  | { type: "abort-indication"; source: number; reason: number }
  | { type: "closed" };

export interface Transition {
  state: StateName;
  actions: UlAction[];
}

function abortPdu(source: number, reason: number): Abort {
  return { type: "abort", source, reason };
}

/** AA-1 / AA-8: send A-ABORT (service-provider), start ARTIM, await close. */
function providerAbort(state: StateName, reason: number): Transition {
  const actions: UlAction[] = [{ type: "send", pdu: abortPdu(2, reason) }];
  if (state !== "Sta2") actions.push({ type: "abort-indication", source: 2, reason });
  actions.push({ type: "start-artim" }, { type: "end-transport" });
  return { state: "Sta13", actions };
}

export function next(state: StateName, event: UlEvent): Transition {
  const stay: Transition = { state, actions: [] };
  switch (event.type) {
    case "transport-connected":
      // AE-5: accept the transport, start ARTIM (PS3.8 9.1.5).
      return state === "Sta1" ? { state: "Sta2", actions: [{ type: "start-artim" }] } : stay;

    case "received": {
      const pdu = event.pdu;
      if (state === "Sta1") return stay;
      if (pdu.type === "abort") {
        // AA-2 in Sta2/Sta13 (no association to report), AA-3 elsewhere:
        // close at once, the peer has given up on the association.
        if (state === "Sta2" || state === "Sta13") {
          return { state: "Sta1", actions: [{ type: "stop-artim" }, { type: "close-transport" }, { type: "closed" }] };
        }
        return {
          state: "Sta1",
          actions: [{ type: "abort-indication", source: pdu.source, reason: pdu.reason }, { type: "close-transport" }, { type: "closed" }],
        };
      }
      if (state === "Sta13") {
        // AA-7 for an A-ASSOCIATE-RQ, AA-6 (ignore) for everything else.
        return pdu.type === "associate-rq" ? { state, actions: [{ type: "send", pdu: abortPdu(2, AbortReason.UnexpectedPdu) }] } : stay;
      }
      if (pdu.type === "unknown") return providerAbort(state, AbortReason.UnrecognizedPdu);
      if (state === "Sta2") {
        // AE-6: stop ARTIM, issue the A-ASSOCIATE indication.
        if (pdu.type === "associate-rq") {
          return { state: "Sta3", actions: [{ type: "stop-artim" }, { type: "associate-indication", rq: pdu }] };
        }
        return providerAbort(state, AbortReason.UnexpectedPdu); // AA-1
      }
      if (state === "Sta6") {
        if (pdu.type === "p-data-tf") return { state, actions: [{ type: "deliver-pdata" }] }; // DT-2
        if (pdu.type === "release-rq") return { state: "Sta8", actions: [{ type: "release-indication" }] }; // AR-2
      }
      // Sta3 (anything), Sta6 (RQ/AC/RJ/RP), Sta8 (anything, P-DATA included): AA-8.
      return providerAbort(state, AbortReason.UnexpectedPdu);
    }

    case "invalid-pdu":
      if (state === "Sta1") return stay;
      if (state === "Sta13") return { state, actions: [{ type: "send", pdu: abortPdu(2, event.abortReason) }] }; // AA-7
      return providerAbort(state, event.abortReason); // AA-1 / AA-8

    case "accept":
      // AE-7: send A-ASSOCIATE-AC.
      return state === "Sta3" ? { state: "Sta6", actions: [{ type: "send", pdu: event.ac }] } : stay;

    case "reject": {
      // AE-8: send A-ASSOCIATE-RJ, start ARTIM.
      if (state !== "Sta3") return stay;
      const { result, source, reason } = event.rejection;
      return {
        state: "Sta13",
        actions: [{ type: "send", pdu: { type: "associate-rj", result, source, reason } }, { type: "start-artim" }],
      };
    }

    case "release-response":
      // AR-4: send A-RELEASE-RP, start ARTIM.
      return state === "Sta8" ? { state: "Sta13", actions: [{ type: "send", pdu: { type: "release-rp" } }, { type: "start-artim" }] } : stay;

    case "local-abort":
      // AA-1 with service-user source: our application gave up (idle timeout, shutdown).
      if (state === "Sta1" || state === "Sta13") return stay;
      return {
        state: "Sta13",
        actions: [
          { type: "send", pdu: abortPdu(0, 0) },
          { type: "abort-indication", source: 0, reason: 0 },
          { type: "start-artim" },
          { type: "end-transport" },
        ],
      };

    case "transport-closed":
      if (state === "Sta1") return stay;
      // AR-5 in Sta13; AA-5 in Sta2; AA-4 (A-P-ABORT indication) elsewhere.
      if (state === "Sta13" || state === "Sta2") return { state: "Sta1", actions: [{ type: "stop-artim" }, { type: "closed" }] };
      return { state: "Sta1", actions: [{ type: "abort-indication", source: 2, reason: 0 }, { type: "closed" }] };

    case "artim-expired":
      // AA-2: close the transport.
      return state === "Sta2" || state === "Sta13"
        ? { state: "Sta1", actions: [{ type: "close-transport" }, { type: "closed" }] }
        : stay;

    default: {
      const never: never = event;
      throw new TypeError(`unknown event ${(never as UlEvent).type}`);
    }
  }
}

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

export interface AssociationOptions {
  /** Our Maximum Length for P-DATA-TF (PS3.8 D.1); advertised by `negotiate`. */
  maxPduLength: number;
  /** Decides the A-ASSOCIATE-RQ (see negotiation.ts). */
  negotiate(rq: AssociateRq): NegotiationResult;
  /**
   * Performs one DIMSE operation. The returned command is sent as the
   * response once the request's data set has been fully received (and
   * discarded where the handler did not read it); undefined sends nothing
   * (C-CANCEL). A rejection aborts the association.
   */
  onMessage(message: IncomingMessage, association: Association): Promise<Command | undefined>;
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

/** When the peer advertises "no limit" (0), we still send bounded PDUs. */
const UNLIMITED_PEER_FRAGMENT = 64 * 1024;

interface CommandAssembly {
  contextId: number;
  parts: Uint8Array[];
  length: number;
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
  associateRq: AssociateRq | undefined;

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
    this.dispatch({ type: "transport-connected" });
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
      case "deliver-pdata":
        this.deliverPData = true;
        return;
      case "release-indication":
        this.releasePending = true;
        this.maybeRelease();
        return;
      case "abort-indication":
        this.failDataset(new Error(`association aborted (source ${action.source}, reason ${action.reason})`));
        return;
      case "closed":
        this.queue = [];
        this.queueAt = 0;
        this.waiting = undefined;
        clearTimeout(this.artim);
        clearTimeout(this.idle);
        this.failDataset(new Error("transport closed"));
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
    const result = this.options.negotiate(rq);
    if ("reject" in result) {
      this.dispatch({ type: "reject", rejection: result.reject });
      return;
    }
    this.contexts = result.contexts;
    this.peerMaxPduLength = result.peerMaxPduLength;
    this.dispatch({ type: "accept", ac: result.accept });
    this.touch();
  }

  // ---- idle timer: only while established and nothing is in progress

  private touch(): void {
    const ms = this.options.idleTimeoutMs ?? 300_000;
    clearTimeout(this.idle);
    if (this.stateName !== "Sta6" && this.stateName !== "Sta8") return;
    this.idle = setTimeout(() => {
      if (this.inFlight > 0 || this.dataset) this.touch();
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
        if (this.deliverPData && this.stateName === "Sta6") this.onPdvStart(event);
        return;
      case "pdv-data":
        if (this.deliverPData && this.stateName === "Sta6") this.onPdvData(event.bytes);
        return;
      case "pdv-end":
        if (this.deliverPData && this.stateName === "Sta6") this.onPdvEnd();
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
      if (!this.datasetOpen || this.dataset!.contextId !== pdv.contextId) {
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
      this.onCommand(this.contexts.get(cmd.contextId)!, command);
    } else {
      this.datasetOpen = false;
      const ds = this.dataset!;
      if (!ds.discard) ds.stream.push(null);
      ds.finish();
      this.dataset = undefined;
      this.resumeSocket();
    }
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
   */
  private onCommand(context: AcceptedContext, command: Command): void {
    if (this.inFlight > 0 && command.commandField !== CommandField.CCancelRq) {
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
    const message: IncomingMessage = dataset ? { context, command, dataset } : { context, command };
    void (async () => {
      let response: Command | undefined;
      try {
        response = await this.options.onMessage(message, this);
      } catch (e) {
        this.options.onProtocolEvent?.({ kind: "handler-error", message: e instanceof Error ? e.message : String(e) });
        this.stopReading(reception);
        this.dispatch({ type: "local-abort" });
        this.operationDone();
        return;
      }
      // The handler is done with the data set; whatever it left unread is
      // drained here so the peer can finish sending before we answer.
      this.stopReading(reception);
      await received;
      if (response && (this.stateName === "Sta6" || this.stateName === "Sta8")) {
        try {
          await this.sendMessage(context.id, response);
        } catch (e) {
          // The association ended while the response was queued (peer
          // A-ABORT, transport gone): nobody is left to answer.
          this.options.onProtocolEvent?.({ kind: "protocol-error", message: `response not sent: ${e instanceof Error ? e.message : String(e)}` });
        }
      }
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
    // One fragment is held back so the final one can carry the "last" bit
    // (PS3.8 E.2); memory stays at one fragment plus one source chunk.
    let pending: Uint8Array | undefined;
    const flush = async (bytes: Uint8Array, isLast: boolean) => {
      if (this.stateName !== "Sta6" && this.stateName !== "Sta8") throw new Error(`cannot send P-DATA in ${this.stateName}`);
      this.write(encodePDataHeader(contextId, isCommand, isLast, bytes.length));
      if (!this.write(bytes)) await this.drained();
    };
    let buffer: Uint8Array = new Uint8Array(0);
    for await (const chunk of source) {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      while (buffer.length > fragment) {
        if (pending) await flush(pending, false);
        pending = buffer.subarray(0, fragment);
        buffer = buffer.subarray(fragment);
      }
    }
    if (buffer.length > 0) {
      if (pending) await flush(pending, false);
      pending = buffer;
    }
    await flush(pending ?? new Uint8Array(0), true);
  }
}
