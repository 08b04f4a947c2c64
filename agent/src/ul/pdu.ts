/**
 * Upper-layer PDU codec (PS3.8 9.3). Pure: bytes in, typed PDUs out, and
 * back. Streaming of P-DATA-TF lives in `pdu-reader.ts`; this module decodes
 * PDUs whose whole body is already in memory (everything but P-DATA, and
 * P-DATA in tests).
 *
 * Byte offsets in comments are PS3.8's, 1-based as the standard counts them.
 */

/** PDU types (PS3.8 9.3.1): the first byte of every PDU. */
export const PduType = {
  AssociateRq: 0x01,
  AssociateAc: 0x02,
  AssociateRj: 0x03,
  PDataTf: 0x04,
  ReleaseRq: 0x05,
  ReleaseRp: 0x06,
  Abort: 0x07,
} as const;

/** The Application Context Name of DICOM (PS3.7 A.2.1). */
export const DICOM_APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1";

/** Item types inside A-ASSOCIATE-RQ/AC (PS3.8 9.3.2.1-9.3.3.3, PS3.7 D.3.3). */
const Item = {
  ApplicationContext: 0x10,
  PresentationContextRq: 0x20,
  PresentationContextAc: 0x21,
  AbstractSyntax: 0x30,
  TransferSyntax: 0x40,
  UserInformation: 0x50,
  MaximumLength: 0x51, // PS3.8 D.1
  ImplementationClassUid: 0x52, // PS3.7 D.3.3.2
  AsynchronousOperationsWindow: 0x53, // PS3.7 D.3.3.3
  RoleSelection: 0x54, // PS3.7 D.3.3.4
  ImplementationVersionName: 0x55, // PS3.7 D.3.3.2
  SopClassExtendedNegotiation: 0x56, // PS3.7 D.3.3.5
  SopClassCommonExtendedNegotiation: 0x57, // PS3.7 D.3.3.6
  UserIdentityRq: 0x58, // PS3.7 D.3.3.7.1
  UserIdentityAc: 0x59, // PS3.7 D.3.3.7.2
} as const;

export interface PresentationContextRq {
  /** Odd, 1-255 (PS3.8 9.3.2.2). */
  id: number;
  abstractSyntax: string;
  transferSyntaxes: string[];
}

/** PS3.8 Table 9-18: result/reason of a presentation context. */
export type PresentationContextResult = 0 | 1 | 2 | 3 | 4;

export interface PresentationContextAc {
  id: number;
  result: PresentationContextResult;
  /** Not significant unless result is 0 (PS3.8 9.3.3.2), but always sent. */
  transferSyntax: string;
}

export interface RoleSelection {
  sopClassUid: string;
  scuRole: number;
  scpRole: number;
}

export interface SopClassExtendedNegotiation {
  sopClassUid: string;
  /** Service-class-application-information, kept raw (PS3.4 defines it per service). */
  info: Uint8Array;
}

/**
 * User Identity negotiation request (PS3.7 D.3.3.7.1). The fields stay raw
 * bytes: PS3.7 does not fix a character set for them, a JWT or SAML
 * assertion may carry significant whitespace, and a Kerberos ticket is
 * binary. Decoding is the authenticator's job.
 */
export interface UserIdentityRq {
  /** 1 username, 2 username+passcode, 3 Kerberos, 4 SAML, 5 JWT. */
  identityType: number;
  positiveResponseRequested: boolean;
  primaryField: Uint8Array;
  secondaryField: Uint8Array;
  /** The whole item value as received, for auditing. */
  raw: Uint8Array;
}

export interface UserIdentityAc {
  serverResponse: Uint8Array;
  raw: Uint8Array;
}

/** A sub-item of User Information this codec does not model; kept as is. */
export interface RawItem {
  type: number;
  value: Uint8Array;
}

export interface UserInformation {
  /** 0 means "no limit" (PS3.8 D.1.1). Undefined when the item is absent. */
  maxLength?: number;
  implementationClassUid?: string;
  implementationVersionName?: string;
  asyncOpsWindow?: { maxInvoked: number; maxPerformed: number };
  roleSelections: RoleSelection[];
  extendedNegotiations: SopClassExtendedNegotiation[];
  userIdentityRq?: UserIdentityRq;
  userIdentityAc?: UserIdentityAc;
  /** Other sub-items (e.g. 0x57 common extended negotiation), in order. */
  other: RawItem[];
}

export interface AssociateRq {
  type: "associate-rq";
  protocolVersion: number;
  calledAeTitle: string;
  callingAeTitle: string;
  applicationContext: string;
  presentationContexts: PresentationContextRq[];
  userInformation: UserInformation;
}

export interface AssociateAc {
  type: "associate-ac";
  protocolVersion: number;
  /** Echoed from the RQ, not tested by the receiver (PS3.8 9.3.3.1). */
  calledAeTitle: string;
  callingAeTitle: string;
  applicationContext: string;
  presentationContexts: PresentationContextAc[];
  userInformation: UserInformation;
}

/** PS3.8 9.3.4 Table 9-21. */
export interface AssociateRj {
  type: "associate-rj";
  /** 1 rejected-permanent, 2 rejected-transient. */
  result: number;
  /** 1 service-user, 2 service-provider (ACSE), 3 service-provider (presentation). */
  source: number;
  reason: number;
}

export interface Pdv {
  contextId: number;
  isCommand: boolean;
  isLast: boolean;
  data: Uint8Array;
}

export interface PDataTf {
  type: "p-data-tf";
  pdvs: Pdv[];
}

export interface ReleaseRq {
  type: "release-rq";
}

export interface ReleaseRp {
  type: "release-rp";
}

/** PS3.8 9.3.8 Table 9-26. */
export interface Abort {
  type: "abort";
  /** 0 service-user, 2 service-provider. */
  source: number;
  /** Significant only when source is 2: 0 not specified, 1 unrecognized PDU, 2 unexpected PDU, 4 unrecognized parameter, 5 unexpected parameter, 6 invalid parameter value. */
  reason: number;
}

/** A PDU type this codec does not know; PS3.8 9.2 makes it event Evt19. */
export interface UnknownPdu {
  type: "unknown";
  pduType: number;
  body: Uint8Array;
}

export type Pdu = AssociateRq | AssociateAc | AssociateRj | PDataTf | ReleaseRq | ReleaseRp | Abort | UnknownPdu;

/** A PDU that does not follow PS3.8 9.3; `abortReason` is the Table 9-26 reason to send. */
export class PduError extends Error {
  readonly code = "ERR_DICOM_PDU";
  constructor(
    message: string,
    readonly abortReason: number = 6,
  ) {
    super(message);
    this.name = "PduError";
  }
}

export function emptyUserInformation(): UserInformation {
  return { roleSelections: [], extendedNegotiations: [], other: [] };
}

// ---------------------------------------------------------------- decoding

const latin1 = new TextDecoder("latin1");

/** UIDs are ASCII; a trailing NUL pad is tolerated (some peers send one, PS3.8 Annex F says none). */
function uid(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0 || bytes[end - 1] === 0x20)) end--;
  return latin1.decode(bytes.subarray(0, end));
}

/** AE titles: 16 bytes, leading and trailing spaces not significant (PS3.8 9.3.2, PS3.5 6.2 AE). */
function aeTitle(bytes: Uint8Array): string {
  return latin1.decode(bytes).replace(/\0/g, " ").trim();
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Items of PS3.8 9.3.2: type (1), reserved (1), length (2, big endian), value. */
function* items(bytes: Uint8Array, where: string): Generator<RawItem> {
  const dv = view(bytes);
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < 4) throw new PduError(`${where}: truncated item header at ${at}`);
    const type = bytes[at]!;
    const length = dv.getUint16(at + 2);
    if (at + 4 + length > bytes.length) {
      throw new PduError(`${where}: item 0x${type.toString(16)} of ${length} bytes overruns its parent`);
    }
    yield { type, value: bytes.subarray(at + 4, at + 4 + length) };
    at += 4 + length;
  }
}

function nonEmptyUid(item: RawItem, what: string): string {
  // A zero-length UID item is meaningless (PS3.8 9.3.2.2.1: "shall be
  // encoded as ... UID"); treat it as an invalid parameter value.
  if (item.value.length === 0) throw new PduError(`${what} item is empty`);
  return uid(item.value);
}

function decodeUserInformation(bytes: Uint8Array): UserInformation {
  const info = emptyUserInformation();
  for (const item of items(bytes, "user information")) {
    const v = item.value;
    const dv = view(v);
    switch (item.type) {
      case Item.MaximumLength:
        if (v.length !== 4) throw new PduError("maximum length item must be 4 bytes (PS3.8 D.1.1)");
        info.maxLength = dv.getUint32(0);
        break;
      case Item.ImplementationClassUid:
        info.implementationClassUid = nonEmptyUid(item, "implementation class UID");
        break;
      case Item.ImplementationVersionName:
        info.implementationVersionName = latin1.decode(v).trim();
        break;
      case Item.AsynchronousOperationsWindow:
        if (v.length !== 4) throw new PduError("asynchronous operations window item must be 4 bytes (PS3.7 D.3.3.3.1)");
        info.asyncOpsWindow = { maxInvoked: dv.getUint16(0), maxPerformed: dv.getUint16(2) };
        break;
      case Item.RoleSelection: {
        if (v.length < 2) throw new PduError("role selection item too short");
        const n = dv.getUint16(0);
        if (v.length !== 2 + n + 2) throw new PduError("role selection item length does not match its UID length (PS3.7 D.3.3.4.1)");
        info.roleSelections.push({ sopClassUid: uid(v.subarray(2, 2 + n)), scuRole: v[2 + n]!, scpRole: v[3 + n]! });
        break;
      }
      case Item.SopClassExtendedNegotiation: {
        if (v.length < 2) throw new PduError("extended negotiation item too short");
        const n = dv.getUint16(0);
        if (2 + n > v.length) throw new PduError("extended negotiation UID overruns its item (PS3.7 D.3.3.5.1)");
        info.extendedNegotiations.push({ sopClassUid: uid(v.subarray(2, 2 + n)), info: v.subarray(2 + n) });
        break;
      }
      case Item.UserIdentityRq: {
        // PS3.7 D.3.3.7.1: type (1), positive-response-requested (1),
        // primary length (2), primary, secondary length (2), secondary.
        if (v.length < 6) throw new PduError("user identity item too short");
        const primaryLength = dv.getUint16(2);
        if (4 + primaryLength + 2 > v.length) throw new PduError("user identity primary field overruns its item");
        const secondaryLength = dv.getUint16(4 + primaryLength);
        if (6 + primaryLength + secondaryLength !== v.length) {
          throw new PduError("user identity secondary field does not end the item");
        }
        info.userIdentityRq = {
          identityType: v[0]!,
          positiveResponseRequested: v[1] === 1,
          primaryField: v.slice(4, 4 + primaryLength),
          secondaryField: v.slice(6 + primaryLength, 6 + primaryLength + secondaryLength),
          raw: v.slice(),
        };
        break;
      }
      case Item.UserIdentityAc: {
        if (v.length < 2) throw new PduError("user identity response item too short");
        const n = dv.getUint16(0);
        if (2 + n !== v.length) throw new PduError("user identity server response does not end the item (PS3.7 D.3.3.7.2)");
        info.userIdentityAc = { serverResponse: v.slice(2), raw: v.slice() };
        break;
      }
      default:
        info.other.push({ type: item.type, value: v.slice() });
    }
  }
  return info;
}

interface AssociateCommon {
  protocolVersion: number;
  calledAeTitle: string;
  callingAeTitle: string;
  applicationContext: string;
  userInformation: UserInformation;
}

/**
 * The shared layout of A-ASSOCIATE-RQ and -AC (PS3.8 9.3.2, 9.3.3): after
 * the 6-byte header, protocol version at 7-8, reserved 9-10, called AE
 * 11-26, calling AE 27-42, reserved 43-74, items from 75. `body` starts at
 * byte 7.
 */
function decodeAssociate(
  body: Uint8Array,
  onContext: (item: RawItem) => void,
  what: string,
): AssociateCommon {
  if (body.length < 68) throw new PduError(`${what} shorter than its fixed fields (68 bytes)`);
  const common: AssociateCommon = {
    protocolVersion: view(body).getUint16(0),
    calledAeTitle: aeTitle(body.subarray(4, 20)),
    callingAeTitle: aeTitle(body.subarray(20, 36)),
    applicationContext: "",
    userInformation: emptyUserInformation(),
  };
  let sawApplicationContext = false;
  let sawUserInformation = false;
  for (const item of items(body.subarray(68), what)) {
    switch (item.type) {
      case Item.ApplicationContext:
        common.applicationContext = nonEmptyUid(item, "application context");
        sawApplicationContext = true;
        break;
      case Item.PresentationContextRq:
      case Item.PresentationContextAc:
        onContext(item);
        break;
      case Item.UserInformation:
        common.userInformation = decodeUserInformation(item.value);
        sawUserInformation = true;
        break;
      default:
        // PS3.8 9.3.1: unknown items are a protocol error ("unrecognized PDU parameter").
        throw new PduError(`${what}: unrecognized item 0x${item.type.toString(16)}`, 4);
    }
  }
  if (!sawApplicationContext) throw new PduError(`${what} without an application context item`);
  // PS3.7 D.3.3.1: the User Information item with Maximum Length is mandatory.
  if (!sawUserInformation) throw new PduError(`${what} without a user information item`);
  return common;
}

function decodeContextRq(item: RawItem): PresentationContextRq {
  const v = item.value;
  if (item.type !== Item.PresentationContextRq) throw new PduError("A-ASSOCIATE-RQ carries an AC presentation context", 5);
  if (v.length < 4) throw new PduError("presentation context item too short");
  // PS3.8 9.3.2.2: id at 5, reserved 6-8, sub-items from 9.
  const ctx: PresentationContextRq = { id: v[0]!, abstractSyntax: "", transferSyntaxes: [] };
  let abstractSeen = false;
  for (const sub of items(v.subarray(4), "presentation context")) {
    if (sub.type === Item.AbstractSyntax) {
      if (abstractSeen) throw new PduError("presentation context with two abstract syntaxes");
      ctx.abstractSyntax = nonEmptyUid(sub, "abstract syntax");
      abstractSeen = true;
    } else if (sub.type === Item.TransferSyntax) {
      ctx.transferSyntaxes.push(nonEmptyUid(sub, "transfer syntax"));
    } else {
      throw new PduError(`presentation context: unrecognized sub-item 0x${sub.type.toString(16)}`, 4);
    }
  }
  if (!abstractSeen) throw new PduError(`presentation context ${ctx.id} without an abstract syntax`);
  if (ctx.transferSyntaxes.length === 0) throw new PduError(`presentation context ${ctx.id} without transfer syntaxes`);
  return ctx;
}

function decodeContextAc(item: RawItem): PresentationContextAc {
  const v = item.value;
  if (item.type !== Item.PresentationContextAc) throw new PduError("A-ASSOCIATE-AC carries an RQ presentation context", 5);
  if (v.length < 4) throw new PduError("presentation context item too short");
  // PS3.8 9.3.3.2: id at 5, reserved 6, result/reason at 7, reserved 8.
  const result = v[2]!;
  if (result > 4) throw new PduError(`presentation context result ${result} is not in PS3.8 Table 9-18`);
  const ctx: PresentationContextAc = { id: v[0]!, result: result as PresentationContextResult, transferSyntax: "" };
  for (const sub of items(v.subarray(4), "presentation context")) {
    if (sub.type !== Item.TransferSyntax) throw new PduError(`presentation context: unexpected sub-item 0x${sub.type.toString(16)}`, 4);
    ctx.transferSyntax = uid(sub.value);
  }
  return ctx;
}

/** Fixed-size bodies: release (PS3.8 9.3.6/9.3.7), reject (9.3.4), abort (9.3.8) are 4 bytes. */
function fixed4(body: Uint8Array, what: string): void {
  if (body.length !== 4) throw new PduError(`${what} body must be 4 bytes, got ${body.length}`);
}

/** Decodes the PDVs of a P-DATA-TF body (PS3.8 9.3.5.1): length (4), context id (1), header (1), data. */
export function decodePdvs(body: Uint8Array): Pdv[] {
  if (body.length === 0) throw new PduError("P-DATA-TF without PDV items (PS3.8 9.3.5: one or more)");
  const dv = view(body);
  const pdvs: Pdv[] = [];
  let at = 0;
  while (at < body.length) {
    if (body.length - at < 6) throw new PduError("truncated PDV header");
    const length = dv.getUint32(at);
    if (length < 2) throw new PduError("PDV item shorter than its context id and header");
    if (at + 4 + length > body.length) throw new PduError("PDV item overruns its P-DATA-TF");
    const header = body[at + 5]!;
    pdvs.push({
      contextId: body[at + 4]!,
      isCommand: (header & 0x01) !== 0,
      isLast: (header & 0x02) !== 0,
      data: body.subarray(at + 6, at + 4 + length),
    });
    at += 4 + length;
  }
  return pdvs;
}

/**
 * Decodes one PDU given its type (byte 1) and its body (bytes 7 onward).
 * Throws PduError for a malformed PDU; an unknown type decodes to `unknown`.
 */
export function decodePduBody(pduType: number, body: Uint8Array): Pdu {
  switch (pduType) {
    case PduType.AssociateRq: {
      const contexts: PresentationContextRq[] = [];
      const common = decodeAssociate(body, (item) => contexts.push(decodeContextRq(item)), "A-ASSOCIATE-RQ");
      return { type: "associate-rq", ...common, presentationContexts: contexts };
    }
    case PduType.AssociateAc: {
      const contexts: PresentationContextAc[] = [];
      const common = decodeAssociate(body, (item) => contexts.push(decodeContextAc(item)), "A-ASSOCIATE-AC");
      return { type: "associate-ac", ...common, presentationContexts: contexts };
    }
    case PduType.AssociateRj:
      fixed4(body, "A-ASSOCIATE-RJ");
      // PS3.8 9.3.4: reserved 7, result 8, source 9, reason/diag 10.
      return { type: "associate-rj", result: body[1]!, source: body[2]!, reason: body[3]! };
    case PduType.PDataTf:
      return { type: "p-data-tf", pdvs: decodePdvs(body) };
    case PduType.ReleaseRq:
      fixed4(body, "A-RELEASE-RQ");
      return { type: "release-rq" };
    case PduType.ReleaseRp:
      fixed4(body, "A-RELEASE-RP");
      return { type: "release-rp" };
    case PduType.Abort:
      fixed4(body, "A-ABORT");
      // PS3.8 9.3.8: reserved 7-8, source 9, reason/diag 10.
      return { type: "abort", source: body[2]!, reason: body[3]! };
    default:
      return { type: "unknown", pduType, body: body.slice() };
  }
}

/** Decodes a whole PDU including its 6-byte header. */
export function decodePdu(bytes: Uint8Array): Pdu {
  if (bytes.length < 6) throw new PduError("shorter than a PDU header");
  const length = view(bytes).getUint32(2);
  if (bytes.length !== 6 + length) throw new PduError(`PDU length ${length} does not match the ${bytes.length - 6} bytes given`);
  return decodePduBody(bytes[0]!, bytes.subarray(6));
}

// ---------------------------------------------------------------- encoding

const ascii = new TextEncoder();

class Writer {
  private parts: Uint8Array[] = [];
  length = 0;
  bytes(b: Uint8Array): this {
    this.parts.push(b);
    this.length += b.length;
    return this;
  }
  u8(...values: number[]): this {
    return this.bytes(Uint8Array.from(values));
  }
  u16(n: number): this {
    const b = new Uint8Array(2);
    view(b).setUint16(0, n);
    return this.bytes(b);
  }
  u32(n: number): this {
    const b = new Uint8Array(4);
    view(b).setUint32(0, n);
    return this.bytes(b);
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

function item(type: number, value: Uint8Array): Uint8Array {
  if (value.length > 0xffff) throw new RangeError(`item 0x${type.toString(16)} value exceeds 65535 bytes`);
  return new Writer().u8(type, 0).u16(value.length).bytes(value).finish();
}

function uidItem(type: number, value: string): Uint8Array {
  return item(type, ascii.encode(value));
}

function aeField(title: string): Uint8Array {
  if (title.length > 16) throw new RangeError(`AE title "${title}" exceeds 16 characters`);
  return ascii.encode(title.padEnd(16, " "));
}

function encodeUserInformation(info: UserInformation): Uint8Array {
  const w = new Writer();
  if (info.maxLength !== undefined) w.bytes(item(Item.MaximumLength, new Writer().u32(info.maxLength).finish()));
  if (info.implementationClassUid !== undefined) w.bytes(uidItem(Item.ImplementationClassUid, info.implementationClassUid));
  if (info.asyncOpsWindow) {
    const { maxInvoked, maxPerformed } = info.asyncOpsWindow;
    w.bytes(item(Item.AsynchronousOperationsWindow, new Writer().u16(maxInvoked).u16(maxPerformed).finish()));
  }
  for (const role of info.roleSelections) {
    const u = ascii.encode(role.sopClassUid);
    w.bytes(item(Item.RoleSelection, new Writer().u16(u.length).bytes(u).u8(role.scuRole, role.scpRole).finish()));
  }
  if (info.implementationVersionName !== undefined) {
    w.bytes(item(Item.ImplementationVersionName, ascii.encode(info.implementationVersionName)));
  }
  for (const ext of info.extendedNegotiations) {
    const u = ascii.encode(ext.sopClassUid);
    w.bytes(item(Item.SopClassExtendedNegotiation, new Writer().u16(u.length).bytes(u).bytes(ext.info).finish()));
  }
  for (const other of info.other) w.bytes(item(other.type, other.value));
  if (info.userIdentityRq) {
    const id = info.userIdentityRq;
    w.bytes(
      item(
        Item.UserIdentityRq,
        new Writer()
          .u8(id.identityType, id.positiveResponseRequested ? 1 : 0)
          .u16(id.primaryField.length)
          .bytes(id.primaryField)
          .u16(id.secondaryField.length)
          .bytes(id.secondaryField)
          .finish(),
      ),
    );
  }
  if (info.userIdentityAc) {
    const r = info.userIdentityAc.serverResponse;
    w.bytes(item(Item.UserIdentityAc, new Writer().u16(r.length).bytes(r).finish()));
  }
  return item(Item.UserInformation, w.finish());
}

function header(type: number, length: number): Writer {
  return new Writer().u8(type, 0).u32(length);
}

function encodeAssociate(type: number, pdu: AssociateRq | AssociateAc, contexts: Uint8Array[]): Uint8Array {
  const body = new Writer()
    .u16(pdu.protocolVersion)
    .u16(0)
    .bytes(aeField(pdu.calledAeTitle))
    .bytes(aeField(pdu.callingAeTitle))
    .bytes(new Uint8Array(32))
    .bytes(uidItem(Item.ApplicationContext, pdu.applicationContext));
  for (const c of contexts) body.bytes(c);
  body.bytes(encodeUserInformation(pdu.userInformation));
  return header(type, body.length).bytes(body.finish()).finish();
}

/** The 6-byte P-DATA-TF header plus the 6-byte header of its single PDV (PS3.8 9.3.5, E.2). */
export function encodePDataHeader(contextId: number, isCommand: boolean, isLast: boolean, dataLength: number): Uint8Array {
  return header(PduType.PDataTf, dataLength + 6)
    .u32(dataLength + 2)
    .u8(contextId, (isCommand ? 0x01 : 0) | (isLast ? 0x02 : 0))
    .finish();
}

export function encodePdu(pdu: Pdu): Uint8Array {
  switch (pdu.type) {
    case "associate-rq":
      return encodeAssociate(
        PduType.AssociateRq,
        pdu,
        pdu.presentationContexts.map((c) => {
          const w = new Writer().u8(c.id, 0, 0, 0).bytes(uidItem(Item.AbstractSyntax, c.abstractSyntax));
          for (const ts of c.transferSyntaxes) w.bytes(uidItem(Item.TransferSyntax, ts));
          return item(Item.PresentationContextRq, w.finish());
        }),
      );
    case "associate-ac":
      return encodeAssociate(
        PduType.AssociateAc,
        pdu,
        pdu.presentationContexts.map((c) =>
          item(Item.PresentationContextAc, new Writer().u8(c.id, 0, c.result, 0).bytes(uidItem(Item.TransferSyntax, c.transferSyntax)).finish()),
        ),
      );
    case "associate-rj":
      return header(PduType.AssociateRj, 4).u8(0, pdu.result, pdu.source, pdu.reason).finish();
    case "p-data-tf": {
      const body = new Writer();
      for (const pdv of pdu.pdvs) {
        body.u32(pdv.data.length + 2).u8(pdv.contextId, (pdv.isCommand ? 0x01 : 0) | (pdv.isLast ? 0x02 : 0)).bytes(pdv.data);
      }
      return header(PduType.PDataTf, body.length).bytes(body.finish()).finish();
    }
    case "release-rq":
      return header(PduType.ReleaseRq, 4).u32(0).finish();
    case "release-rp":
      return header(PduType.ReleaseRp, 4).u32(0).finish();
    case "abort":
      return header(PduType.Abort, 4).u8(0, 0, pdu.source, pdu.reason).finish();
    case "unknown":
      return header(pdu.pduType, pdu.body.length).bytes(pdu.body).finish();
    default: {
      const never: never = pdu;
      throw new TypeError(`unknown PDU ${(never as Pdu).type}`);
    }
  }
}
