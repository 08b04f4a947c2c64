// The DIMSE server and the A-ASSOCIATE-RQ the agent's tests start from.
import { startDimseServer, type DimseHandlers, type DimseServer, type DimseServerOptions } from "../dimse/server.ts";
import { emptyUserInformation, type AssociateRq } from "../ul/pdu.ts";

/** A raw peer "RAW" asking "EDGE" for Verification in Implicit VR Little Endian. */
export function echoAssociateRq(overrides: Partial<AssociateRq> = {}): AssociateRq {
  return {
    type: "associate-rq",
    protocolVersion: 1,
    calledAeTitle: "EDGE",
    callingAeTitle: "RAW",
    applicationContext: "1.2.840.10008.3.1.1.1",
    presentationContexts: [{ id: 1, abstractSyntax: "1.2.840.10008.1.1", transferSyntaxes: ["1.2.840.10008.1.2"] }],
    userInformation: { ...emptyUserInformation(), maxLength: 16384 },
    ...overrides,
  };
}

/** An SCP "EDGE" on a free loopback port whose handlers answer Success, with `overrides`. */
export function startTestServer(overrides: Partial<Omit<DimseServerOptions, "handlers">> & { handlers?: Partial<DimseHandlers> } = {}): Promise<DimseServer> {
  return startDimseServer({
    host: "127.0.0.1",
    port: 0,
    aeTitle: "EDGE",
    maxPduLength: 16384,
    artimTimeoutMs: 2000,
    ...overrides,
    handlers: { echo: async () => ({ status: 0 }), store: async () => ({ status: 0 }), ...overrides.handlers },
  });
}
