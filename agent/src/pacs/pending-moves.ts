/**
 * The C-MOVEs this agent has asked a PACS for with itself as the Move
 * Destination (PS3.4 C.4.2), while they run. The PACS delivers their
 * instances on associations of its own to the agent's DIMSE listener;
 * `divert` picks those C-STOREs out from the modalities' ones.
 */
import type { HandlerResult, StoreContext } from "../dimse/server.ts";

/** PS3.7 C.4: Processing failure. */
const PROCESSING_FAILURE = 0x0110;

/** A pending move, as matching sees it. */
export interface PendingMove {
  /** The PACS's AE title: the one the C-MOVE-RQ went to. */
  pacs: string;
  /** The C-MOVE-RQ's Message ID (0000,0110), unique among the pending moves. */
  messageId: number;
}

/** What an incoming C-STORE-RQ says about its origin (PS3.7 9.1.1.1). */
export interface StoreOrigin {
  callingAeTitle: string;
  moveOriginatorAeTitle?: string;
  moveOriginatorMessageId?: number;
}

/**
 * The pending move a C-STORE belongs to, if any. A C-STORE sub-operation
 * carries Move Originator AE Title (0000,1030) and Message ID (0000,1031)
 * (PS3.7 9.1.1.1): ours and a pending move's id is that move; another
 * originator's is not ours at all. A PACS that leaves them out is known
 * only by its Calling AE Title, which is enough while exactly one move to
 * that PACS is pending and ambiguous otherwise.
 */
export function matchMove<M extends PendingMove>(pending: readonly M[], origin: StoreOrigin, ourAeTitle: string): M | undefined {
  const originator = origin.moveOriginatorAeTitle;
  if (originator !== undefined && originator !== ourAeTitle.trim()) return undefined;
  if (originator !== undefined && origin.moveOriginatorMessageId !== undefined) return pending.find((m) => m.messageId === origin.moveOriginatorMessageId);
  const fromCaller = pending.filter((m) => m.pacs === origin.callingAeTitle);
  return fromCaller.length === 1 ? fromCaller[0] : undefined;
}

/** The Message ID after `last` (US, 1 to 65535, PS3.7 E.1) that no pending move has. */
export function nextMoveMessageId(pending: readonly PendingMove[], last: number): number {
  const used = new Set(pending.map((m) => m.messageId));
  if (used.size >= 0xffff) throw new RangeError("65535 C-MOVEs pending: no Message ID left");
  let id = last;
  do id = (id % 0xffff) + 1;
  while (used.has(id));
  return id;
}

/** Receives the instance of one diverted C-STORE and answers its status. */
export type MoveReceiver = (store: StoreContext) => Promise<HandlerResult>;

interface Registered extends PendingMove {
  receive: MoveReceiver;
}

export class PendingMoves {
  private readonly moves: Registered[] = [];
  private last = 0;

  /** `aeTitle`: ours, the Move Destination and Move Originator of our C-MOVEs. */
  constructor(readonly aeTitle: string) {}

  /** Registers a move to `pacs` before its C-MOVE-RQ is sent; `remove` once its association closed. */
  add(pacs: string, receive: MoveReceiver): { messageId: number; remove(): void } {
    const move: Registered = { pacs, messageId: nextMoveMessageId(this.moves, this.last), receive };
    this.last = move.messageId;
    this.moves.push(move);
    return {
      messageId: move.messageId,
      remove: () => {
        const at = this.moves.indexOf(move);
        if (at >= 0) this.moves.splice(at, 1);
      },
    };
  }

  /**
   * The status of a C-STORE that belongs to a pending move, once its
   * instance went to that move; undefined for any other. One that names us
   * as its Move Originator when no such move runs (it ended, or was
   * cancelled) is refused: storing it would hand the PACS's own instance
   * on as new data.
   */
  divert(store: StoreContext): Promise<HandlerResult> | undefined {
    const move = matchMove(this.moves, store, this.aeTitle);
    if (move) return move.receive(store);
    if (store.moveOriginatorAeTitle !== undefined && store.moveOriginatorAeTitle.trim() === this.aeTitle.trim()) {
      return Promise.resolve({ status: PROCESSING_FAILURE, errorComment: "no C-MOVE of this AE with that Message ID" });
    }
    return undefined;
  }
}
