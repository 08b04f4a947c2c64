export * from "./dicom/index.ts";
export * from "./query/index.ts";
export * from "./tunnel/index.ts";
