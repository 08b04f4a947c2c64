import { describe, expect, it } from "vitest";
import { ECHOSCU_C_ECHO_PDATA_HEX, hex } from "../ul/fixtures.testing.ts";
import { decodePdu } from "../ul/pdu.ts";
import { CommandError, CommandField, NO_DATA_SET, decodeCommand, encodeCommand, hasDataSet, type Command } from "./command.ts";

const echoCommand = (() => {
  const pdu = decodePdu(hex(ECHOSCU_C_ECHO_PDATA_HEX));
  if (pdu.type !== "p-data-tf") throw new Error("fixture");
  return pdu.pdvs[0]!.data;
})();

describe("command sets (PS3.7 E.1)", () => {
  it("decodes dcmtk's C-ECHO-RQ", () => {
    expect(decodeCommand(echoCommand)).toEqual({
      affectedSopClassUid: "1.2.840.10008.1.1",
      commandField: CommandField.CEchoRq,
      messageId: 1,
      commandDataSetType: NO_DATA_SET,
    });
  });

  it("encodes it back to dcmtk's bytes", () => {
    expect(Buffer.from(encodeCommand(decodeCommand(echoCommand))).toString("hex")).toBe(Buffer.from(echoCommand).toString("hex"));
  });

  it("round-trips every modelled field", () => {
    const c: Command = {
      commandField: CommandField.CMoveRsp,
      affectedSopClassUid: "1.2.840.10008.5.1.4.1.2.2.2",
      requestedSopClassUid: "1.2.3",
      messageId: 7,
      messageIdBeingRespondedTo: 6,
      moveDestination: "DEST",
      priority: 2,
      commandDataSetType: 0x0000,
      status: 0xff00,
      errorComment: "odd",
      errorId: 3,
      affectedSopInstanceUid: "1.2.34",
      requestedSopInstanceUid: "1.2.345",
      numberOfRemainingSuboperations: 1,
      numberOfCompletedSuboperations: 2,
      numberOfFailedSuboperations: 3,
      numberOfWarningSuboperations: 4,
      moveOriginatorAeTitle: "ORIG",
      moveOriginatorMessageId: 9,
    };
    const back = decodeCommand(encodeCommand(c));
    expect(back).toEqual(c);
    expect(hasDataSet(back)).toBe(true);
  });

  it("writes the group length and pads UIDs with NUL", () => {
    const bytes = encodeCommand({ commandField: CommandField.CEchoRsp, affectedSopClassUid: "1.2.3", messageIdBeingRespondedTo: 1, status: 0 });
    const dv = new DataView(bytes.buffer);
    expect(dv.getUint32(8, true)).toBe(bytes.length - 12);
    expect(Buffer.from(bytes.subarray(20, 26)).toString("latin1")).toBe("1.2.3\0");
  });

  it("cuts an error comment to LO's 64 characters without control characters", () => {
    const back = decodeCommand(encodeCommand({ commandField: CommandField.CStoreRsp, status: 0x0110, errorComment: "x\n".repeat(50) }));
    // 64 characters were written; the trailing space of "x x ..." is padding on the way back.
    expect(back.errorComment).toBe("x ".repeat(32).trimEnd());
    expect(back.errorComment).not.toMatch(/\n/);
  });

  it("rejects what is not a command set", () => {
    expect(() => decodeCommand(hex("0800180000000000"))).toThrow(CommandError);
    expect(() => decodeCommand(hex("0000020010000000312e"))).toThrow(CommandError);
    expect(() => decodeCommand(hex("00000200020000003100"))).toThrow(/Command Field/);
  });
});
