/**
 * DIMSE command sets (PS3.7 6.3.1, 9.3, Annex E): group 0000 elements,
 * always Implicit VR Little Endian whatever the presentation context says.
 */

/** Command Field values (PS3.7 E.1). */
export const CommandField = {
  CStoreRq: 0x0001,
  CStoreRsp: 0x8001,
  CGetRq: 0x0010,
  CGetRsp: 0x8010,
  CFindRq: 0x0020,
  CFindRsp: 0x8020,
  CMoveRq: 0x0021,
  CMoveRsp: 0x8021,
  CEchoRq: 0x0030,
  CEchoRsp: 0x8030,
  CCancelRq: 0x0fff,
} as const;

/** Command Data Set Type (0000,0800) meaning "no data set" (PS3.7 E.1); any other value means one follows. */
export const NO_DATA_SET = 0x0101;
/** What we write when a data set follows; PS3.7 E.1 only forbids 0x0101. */
export const DATA_SET_PRESENT = 0x0000;

/** Priority (0000,0700), PS3.7 E.1. */
export const Priority = { Medium: 0x0000, High: 0x0001, Low: 0x0002 } as const;

/** The command elements of PS3.7 Table E.1-1 this agent reads or writes. */
export interface Command {
  commandField: number;
  affectedSopClassUid?: string;
  requestedSopClassUid?: string;
  messageId?: number;
  messageIdBeingRespondedTo?: number;
  moveDestination?: string;
  priority?: number;
  /** 0x0101: no data set; anything else: a data set follows. Defaults to no data set when encoding. */
  commandDataSetType?: number;
  status?: number;
  /** LO, at most 64 characters (PS3.5 6.2); longer text is cut when encoding. */
  errorComment?: string;
  errorId?: number;
  affectedSopInstanceUid?: string;
  requestedSopInstanceUid?: string;
  numberOfRemainingSuboperations?: number;
  numberOfCompletedSuboperations?: number;
  numberOfFailedSuboperations?: number;
  numberOfWarningSuboperations?: number;
  moveOriginatorAeTitle?: string;
  moveOriginatorMessageId?: number;
  /** Elements this module does not model, by tag (0000eeee as a number), value bytes as received. */
  other?: Map<number, Uint8Array>;
}

export class CommandError extends Error {
  readonly code = "ERR_DIMSE_COMMAND";
  constructor(message: string) {
    super(message);
    this.name = "CommandError";
  }
}

type Vr = "UI" | "US" | "UL" | "AE" | "LO";

/** Element number (the tag's low 16 bits) → field, VR (PS3.7 Table E.1-1). */
const ELEMENTS: readonly (readonly [element: number, key: Exclude<keyof Command, "other">, vr: Vr])[] = [
  [0x0002, "affectedSopClassUid", "UI"],
  [0x0003, "requestedSopClassUid", "UI"],
  [0x0100, "commandField", "US"],
  [0x0110, "messageId", "US"],
  [0x0120, "messageIdBeingRespondedTo", "US"],
  [0x0600, "moveDestination", "AE"],
  [0x0700, "priority", "US"],
  [0x0800, "commandDataSetType", "US"],
  [0x0900, "status", "US"],
  [0x0902, "errorComment", "LO"],
  [0x0903, "errorId", "US"],
  [0x1000, "affectedSopInstanceUid", "UI"],
  [0x1001, "requestedSopInstanceUid", "UI"],
  [0x1020, "numberOfRemainingSuboperations", "US"],
  [0x1021, "numberOfCompletedSuboperations", "US"],
  [0x1022, "numberOfFailedSuboperations", "US"],
  [0x1023, "numberOfWarningSuboperations", "US"],
  [0x1030, "moveOriginatorAeTitle", "AE"],
  [0x1031, "moveOriginatorMessageId", "US"],
];
const BY_ELEMENT = new Map(ELEMENTS.map((e) => [e[0], e] as const));

const latin1 = new TextDecoder("latin1");

function text(value: Uint8Array, vr: Vr): string {
  const s = latin1.decode(value);
  // UI is padded with NUL, the string VRs with spaces (PS3.5 6.2); for AE
  // and LO leading spaces are not significant either.
  return vr === "UI" ? s.replace(/\0+$/, "") : s.replace(/[\0 ]+$/, "").replace(/^ +/, "");
}

/** Decodes a command set; throws CommandError when it is not one. */
export function decodeCommand(bytes: Uint8Array): Command {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Partial<Command> & { other: Map<number, Uint8Array> } = { other: new Map() };
  let at = 0;
  let previous = -1;
  let sawCommandField = false;
  while (at < bytes.length) {
    // Implicit VR LE element: group (2), element (2), length (4), value (PS3.5 7.1.3).
    if (bytes.length - at < 8) throw new CommandError(`truncated element header at ${at}`);
    const group = dv.getUint16(at, true);
    const element = dv.getUint16(at + 2, true);
    const length = dv.getUint32(at + 4, true);
    if (group !== 0x0000) throw new CommandError(`element (${group.toString(16)},${element.toString(16)}) outside group 0000 in a command set`);
    if (length === 0xffffffff || at + 8 + length > bytes.length) throw new CommandError(`element (0000,${element.toString(16)}) overruns the command set`);
    if (element <= previous) throw new CommandError("command elements out of ascending order (PS3.5 7.1)");
    previous = element;
    const valueAt = at + 8;
    const value = bytes.subarray(valueAt, valueAt + length);
    at = valueAt + length;
    if (element === 0x0000) continue; // CommandGroupLength: recomputed on encode
    const known = BY_ELEMENT.get(element);
    if (!known) {
      out.other.set(element, value.slice());
      continue;
    }
    const [, key, vr] = known;
    if (vr === "US") {
      if (length !== 2) throw new CommandError(`(0000,${element.toString(16).padStart(4, "0")}) US of length ${length}`);
      (out as Record<string, unknown>)[key] = dv.getUint16(valueAt, true);
      if (key === "commandField") sawCommandField = true;
    } else {
      (out as Record<string, unknown>)[key] = text(value, vr);
    }
  }
  if (!sawCommandField) throw new CommandError("command set without Command Field (0000,0100)");
  if (out.other.size === 0) delete (out as { other?: unknown }).other;
  return out as Command;
}

/** True when the command announces a data set (PS3.7 E.1, 0000,0800). */
export function hasDataSet(command: Command): boolean {
  return command.commandDataSetType !== undefined && command.commandDataSetType !== NO_DATA_SET;
}

const ascii = new TextEncoder();

function stringValue(value: string, vr: Vr): Uint8Array {
  let s = value;
  if (vr === "LO") {
    // LO: 64 characters, no backslash or control characters (PS3.5 6.2).
    s = s.replace(/[\\\x00-\x1f\x7f-\uffff]/g, " ").slice(0, 64);
  } else if (vr === "AE") {
    s = s.slice(0, 16);
  }
  const padded = s.length % 2 === 0 ? s : s + (vr === "UI" ? "\0" : " ");
  return ascii.encode(padded);
}

/** Encodes a command set, Command Group Length first (PS3.7 6.3.1). */
export function encodeCommand(command: Command): Uint8Array {
  const elements: [number, Uint8Array][] = [];
  const withDefaults: Command = { commandDataSetType: NO_DATA_SET, ...command };
  for (const [element, key, vr] of ELEMENTS) {
    const value = withDefaults[key];
    if (value === undefined) continue;
    if (vr === "US") {
      const b = new Uint8Array(2);
      new DataView(b.buffer).setUint16(0, value as number, true);
      elements.push([element, b]);
    } else {
      elements.push([element, stringValue(value as string, vr)]);
    }
  }
  for (const [element, value] of command.other ?? []) elements.push([element, value]);
  elements.sort((a, b) => a[0] - b[0]);
  const groupLength = elements.reduce((n, [, v]) => n + 8 + v.length, 0);
  const out = new Uint8Array(12 + groupLength);
  const dv = new DataView(out.buffer);
  // (0000,0000) UL: the length of everything after it.
  dv.setUint32(4, 4, true);
  dv.setUint32(8, groupLength, true);
  let at = 12;
  for (const [element, value] of elements) {
    dv.setUint16(at + 2, element, true);
    dv.setUint32(at + 4, value.length, true);
    out.set(value, at + 8);
    at += 8 + value.length;
  }
  return out;
}
