export * from "./dicom/index.ts";
