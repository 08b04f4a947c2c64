/** multipart/related bodies for STOW-RS requests and WADO-RS responses (PS3.18 8.6, RFC 2046, RFC 2387). */
export { isAcceptableBoundary, isValidBoundary, multipartRelated, parseMediaType } from "./content-type.ts";
export type { MediaType, MultipartRelated } from "./content-type.ts";
export { MultipartError, readMultipart } from "./reader.ts";
export type { MultipartErrorCode, MultipartPart, ReadMultipartOptions } from "./reader.ts";
export { multipartStream, newBoundary } from "./writer.ts";
export type { MultipartSourcePart } from "./writer.ts";
