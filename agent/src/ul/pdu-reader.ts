/**
 * Streaming PDU reader: fed socket chunks, it returns complete control PDUs
 * and P-DATA-TF as PDV fragments, so a 16 MiB P-DATA-TF costs no more memory
 * than the chunk that carried it.
 *
 * Every announced length is checked against a limit before a byte of the
 * body is kept (PS3.8 D.1: the receiver's Maximum Length bounds P-DATA-TF;
 * control PDUs get a fixed cap). A violation is returned as an `error` event
 * carrying the A-ABORT reason of PS3.8 Table 9-26; the reader then refuses
 * further input.
 */
import { PduError, PduType, decodePduBody, type PDataTf, type Pdu } from "./pdu.ts";

/**
 * Cap for A-ASSOCIATE-RQ/AC bodies. A legitimate RQ is bounded by 128
 * presentation contexts (odd ids 1-255, PS3.8 9.3.2.2) of a few UIDs each
 * (about 80 KiB even with 10 transfer syntaxes of 64 characters per context)
 * plus a User Identity item whose two fields may each reach 65535 bytes
 * (PS3.7 D.3.3.7.1: 2-byte lengths; SAML assertions and Kerberos tickets do
 * get large). 256 KiB covers that worst case; 64 KiB would reject a real
 * SAML-authenticated association.
 */
export const DEFAULT_MAX_ASSOCIATE_PDU_LENGTH = 256 * 1024;

/** Table 9-26 reasons used here. */
export const AbortReason = {
  NotSpecified: 0,
  UnrecognizedPdu: 1,
  UnexpectedPdu: 2,
  UnrecognizedPduParameter: 4,
  UnexpectedPduParameter: 5,
  InvalidPduParameterValue: 6,
} as const;

export type PduReaderErrorCode = "oversize" | "malformed" | "unrecognized-pdu";

export interface PduReaderError {
  code: PduReaderErrorCode;
  /** The A-ABORT reason (source 2, service provider) to send: PS3.8 Table 9-26. */
  abortReason: number;
  message: string;
}

export type PduReaderEvent =
  | { type: "pdu"; pdu: Exclude<Pdu, PDataTf> }
  /** A P-DATA-TF header; `length` is its PDU length (PS3.8 9.3.5, bytes 3-6). */
  | { type: "pdata-start"; length: number }
  /** A PDV header (PS3.8 9.3.5.1); `length` counts data bytes only. */
  | { type: "pdv-start"; contextId: number; isCommand: boolean; isLast: boolean; length: number }
  /** PDV data, a view into the chunk given to `push` (not a copy). */
  | { type: "pdv-data"; bytes: Uint8Array }
  | { type: "pdv-end" }
  | { type: "pdata-end" }
  | { type: "error"; error: PduReaderError };

export interface PduReaderOptions {
  /** Our Maximum Length (PS3.8 D.1.1) for P-DATA-TF; 0 means no limit. */
  maxPDataLength: number;
  /** Cap for A-ASSOCIATE-RQ/AC bodies; see DEFAULT_MAX_ASSOCIATE_PDU_LENGTH. */
  maxAssociatePduLength?: number;
}

type State =
  | { name: "pdu-header" }
  | { name: "control-body"; pduType: number; body: Uint8Array; filled: number }
  | { name: "pdv-header"; pduLeft: number }
  | { name: "pdv-data"; pduLeft: number; pdvLeft: number }
  | { name: "failed" };

export class PduReader {
  private state: State = { name: "pdu-header" };
  /** Bytes of a 6-byte PDU or PDV header split across chunks. */
  private readonly head = new Uint8Array(6);
  private headFilled = 0;
  private maxPDataLength: number;
  private readonly maxAssociatePduLength: number;

  constructor(options: PduReaderOptions) {
    this.maxPDataLength = options.maxPDataLength;
    this.maxAssociatePduLength = options.maxAssociatePduLength ?? DEFAULT_MAX_ASSOCIATE_PDU_LENGTH;
  }

  get failed(): boolean {
    return this.state.name === "failed";
  }

  /** True between PDUs: nothing of a PDU has been consumed yet. */
  get atPduBoundary(): boolean {
    return this.state.name === "pdu-header" && this.headFilled === 0;
  }

  setMaxPDataLength(n: number): void {
    this.maxPDataLength = n;
  }

  /**
   * Consumes a chunk and returns what it completed. `pdv-data` events are
   * views into `chunk`: a consumer that keeps them must not reuse `chunk`.
   * After an `error` event, further pushes return nothing.
   */
  push(chunk: Uint8Array): PduReaderEvent[] {
    const events: PduReaderEvent[] = [];
    let at = 0;
    while (this.state.name !== "failed") {
      const state = this.state;
      switch (state.name) {
        case "pdu-header": {
          if (!this.fillHead(chunk, at, 6)) return events;
          at += this.lastTaken;
          this.onPduHeader(events);
          break;
        }
        case "control-body": {
          const k = Math.min(state.body.length - state.filled, chunk.length - at);
          state.body.set(chunk.subarray(at, at + k), state.filled);
          state.filled += k;
          at += k;
          if (state.filled < state.body.length) return events;
          this.state = { name: "pdu-header" };
          try {
            const pdu = decodePduBody(state.pduType, state.body);
            events.push({ type: "pdu", pdu: pdu as Exclude<Pdu, PDataTf> });
          } catch (e) {
            if (!(e instanceof PduError)) throw e;
            this.fail(events, "malformed", e.abortReason, e.message);
          }
          break;
        }
        case "pdv-header": {
          if (state.pduLeft < 6) {
            // PS3.8 9.3.5.1: every PDV item has a 6-byte header; trailing
            // bytes that cannot hold one mean the PDU length lies.
            this.fail(events, "malformed", AbortReason.InvalidPduParameterValue, "P-DATA-TF ends inside a PDV header");
            break;
          }
          if (!this.fillHead(chunk, at, 6)) return events;
          at += this.lastTaken;
          const dv = new DataView(this.head.buffer);
          const itemLength = dv.getUint32(0);
          const pduLeft = state.pduLeft - 6;
          if (itemLength < 2) {
            this.fail(events, "malformed", AbortReason.InvalidPduParameterValue, `PDV item length ${itemLength} cannot hold its header`);
            break;
          }
          const dataLength = itemLength - 2;
          if (dataLength > pduLeft) {
            this.fail(events, "malformed", AbortReason.InvalidPduParameterValue, `PDV of ${dataLength} bytes overruns its P-DATA-TF (${pduLeft} left)`);
            break;
          }
          const control = this.head[5]!;
          events.push({
            type: "pdv-start",
            contextId: this.head[4]!,
            isCommand: (control & 0x01) !== 0,
            isLast: (control & 0x02) !== 0,
            length: dataLength,
          });
          this.state = { name: "pdv-data", pduLeft, pdvLeft: dataLength };
          break;
        }
        case "pdv-data": {
          if (state.pdvLeft > 0) {
            const k = Math.min(state.pdvLeft, chunk.length - at);
            if (k === 0) return events;
            events.push({ type: "pdv-data", bytes: chunk.subarray(at, at + k) });
            at += k;
            state.pdvLeft -= k;
            state.pduLeft -= k;
            if (state.pdvLeft > 0) return events;
          }
          events.push({ type: "pdv-end" });
          if (state.pduLeft === 0) {
            events.push({ type: "pdata-end" });
            this.state = { name: "pdu-header" };
          } else {
            this.state = { name: "pdv-header", pduLeft: state.pduLeft };
          }
          break;
        }
        default: {
          const never: never = state;
          throw new TypeError(`unknown reader state ${(never as State).name}`);
        }
      }
    }
    return events;
  }

  private lastTaken = 0;

  /** Copies header bytes into `head`; true once `n` are there (and resets for the next header). */
  private fillHead(chunk: Uint8Array, at: number, n: number): boolean {
    const k = Math.min(n - this.headFilled, chunk.length - at);
    this.head.set(chunk.subarray(at, at + k), this.headFilled);
    this.headFilled += k;
    this.lastTaken = k;
    if (this.headFilled < n) return false;
    this.headFilled = 0;
    return true;
  }

  /** PS3.8 9.3.1: type (1), reserved (1), length (4, big endian). */
  private onPduHeader(events: PduReaderEvent[]): void {
    const pduType = this.head[0]!;
    const length = new DataView(this.head.buffer).getUint32(2);
    switch (pduType) {
      case PduType.PDataTf:
        if (this.maxPDataLength > 0 && length > this.maxPDataLength) {
          this.fail(events, "oversize", AbortReason.InvalidPduParameterValue, `P-DATA-TF of ${length} bytes exceeds our maximum length ${this.maxPDataLength}`);
          return;
        }
        if (length === 0) {
          this.fail(events, "malformed", AbortReason.InvalidPduParameterValue, "P-DATA-TF without PDV items (PS3.8 9.3.5: one or more)");
          return;
        }
        events.push({ type: "pdata-start", length });
        this.state = { name: "pdv-header", pduLeft: length };
        return;
      case PduType.AssociateRq:
      case PduType.AssociateAc:
        if (length > this.maxAssociatePduLength) {
          this.fail(events, "oversize", AbortReason.InvalidPduParameterValue, `A-ASSOCIATE PDU of ${length} bytes exceeds the cap ${this.maxAssociatePduLength}`);
          return;
        }
        this.state = { name: "control-body", pduType, body: new Uint8Array(length), filled: 0 };
        return;
      case PduType.AssociateRj:
      case PduType.ReleaseRq:
      case PduType.ReleaseRp:
      case PduType.Abort:
        // PS3.8 9.3.4, 9.3.6-9.3.8: these bodies are exactly 4 bytes.
        if (length !== 4) {
          this.fail(events, "malformed", AbortReason.InvalidPduParameterValue, `PDU type 0x0${pduType} with length ${length}, expected 4`);
          return;
        }
        this.state = { name: "control-body", pduType, body: new Uint8Array(4), filled: 0 };
        return;
      default:
        // Unknown types are not buffered at all: PS3.8 9.2 Evt19 makes them fatal.
        this.fail(events, "unrecognized-pdu", AbortReason.UnrecognizedPdu, `unrecognized PDU type 0x${pduType.toString(16).padStart(2, "0")}`);
    }
  }

  private fail(events: PduReaderEvent[], code: PduReaderErrorCode, abortReason: number, message: string): void {
    this.state = { name: "failed" };
    events.push({ type: "error", error: { code, abortReason, message } });
  }
}
