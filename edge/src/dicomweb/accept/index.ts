/** Content negotiation for DICOMweb responses (PS3.18 8.7, RFC 9110 12.5.1). */
export { acceptFrom, negotiate, negotiateRequest, parseAccept } from "./accept.ts";
export type { MediaRange, Negotiated, Offer } from "./accept.ts";
