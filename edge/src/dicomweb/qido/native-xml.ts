import { lookup } from "@dicom-edge/shared/dicom/dictionary";
import type { DicomJson, DicomJsonAttribute } from "@dicom-edge/shared/dicom/json";

/**
 * A DICOM JSON dataset as the Native DICOM Model (PS3.19 A.1), for the
 * `multipart/related; type="application/dicom+xml"` QIDO-RS response
 * (PS3.18 10.6.3.1). JSON (PS3.18 F.2) and XML carry the same model, so this
 * is a direct translation.
 */
export function nativeDicomModel(dataset: DicomJson): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<NativeDicomModel xml:space="preserve">${attributes(dataset)}</NativeDicomModel>\n`;
}

function attributes(dataset: DicomJson): string {
  return Object.entries(dataset)
    .map(([tag, attribute]) => attributeXml(tag, attribute))
    .join("");
}

function attributeXml(tag: string, attribute: DicomJsonAttribute): string {
  const keyword = lookup(parseInt(tag, 16))?.keyword;
  // Private attributes carry privateCreator in XML (PS3.19 A.1.1); the JSON model has none, so it is left out.
  const open = `<DicomAttribute tag="${tag}" vr="${attribute.vr}"${keyword ? ` keyword="${keyword}"` : ""}>`;
  let body = "";
  if (attribute.BulkDataURI !== undefined) body = `<BulkData uri="${escape(attribute.BulkDataURI)}"/>`;
  else if (attribute.InlineBinary !== undefined) body = `<InlineBinary>${attribute.InlineBinary}</InlineBinary>`;
  else if (attribute.vr === "SQ") body = (attribute.Value ?? []).map((item, i) => `<Item number="${i + 1}">${attributes(item as DicomJson)}</Item>`).join("");
  else if (attribute.vr === "PN") body = (attribute.Value ?? []).map((pn, i) => personName(pn as Record<string, string> | null, i + 1)).join("");
  else body = (attribute.Value ?? []).map((v, i) => (v === null ? "" : `<Value number="${i + 1}">${escape(String(v))}</Value>`)).join("");
  return `${open}${body}</DicomAttribute>`;
}

const COMPONENTS = ["FamilyName", "GivenName", "MiddleName", "NamePrefix", "NameSuffix"] as const;

/** PS3.19 A.1.5: each component group split into its five components. */
function personName(pn: Record<string, string> | null, number: number): string {
  if (!pn) return "";
  const groups = (["Alphabetic", "Ideographic", "Phonetic"] as const)
    .filter((group) => pn[group])
    .map((group) => {
      const parts = pn[group]!.split("^");
      const components = COMPONENTS.map((name, i) => (parts[i] ? `<${name}>${escape(parts[i]!)}</${name}>` : "")).join("");
      return `<${group}>${components}</${group}>`;
    });
  return `<PersonName number="${number}">${groups.join("")}</PersonName>`;
}

function escape(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
