/**
 * DICOM DA, TM and Timezone Offset From UTC (PS3.5 Table 6.2-1, PS3.3
 * C.12.1.1.8) to FHIR date and dateTime (R4 datatypes.html). Pure.
 */
import { normalizeDate, normalizeTime } from "@dicom-edge/shared/query/normalize";

const OFFSET = /^([+-])(\d{2})(\d{2})$/;

/** "20240115" (or ACR-NEMA "2024.01.15") as "2024-01-15"; undefined when it is not a date. */
export function fhirDate(da: string | undefined): string | undefined {
  const date = normalizeDate(da ?? "");
  if (date === "") return undefined;
  const [y, m, d] = [Number(date.slice(0, 4)), Number(date.slice(4, 6)), Number(date.slice(6, 8))];
  const probe = new Date(Date.UTC(y, m - 1, d));
  if (y < 1 || probe.getUTCMonth() !== m - 1 || probe.getUTCDate() !== d) return undefined;
  return `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}`;
}

/**
 * A date and time as a FHIR dateTime. R4 requires a time zone whenever a
 * time is given, so without a valid offset (the study's Timezone Offset From
 * UTC) the time is left out and only the date is said.
 */
export function fhirDateTime(da: string | undefined, tm: string | undefined, offset: string | undefined): string | undefined {
  const date = fhirDate(da);
  if (!date) return undefined;
  const zone = fhirZone(offset);
  const time = tm ? normalizeTime(tm) : "";
  if (!zone || time === "" || Number(time.slice(0, 2)) > 23 || Number(time.slice(2, 4)) > 59 || Number(time.slice(4, 6)) > 60) return date;
  const fraction = time.slice(7).replace(/0+$/, "");
  return `${date}T${time.slice(0, 2)}:${time.slice(2, 4)}:${time.slice(4, 6)}${fraction ? `.${fraction}` : ""}${zone}`;
}

/** "+0100" as "+01:00"; undefined outside -12:00 to +14:00 (PS3.3 C.12.1.1.8) or not an offset. */
function fhirZone(offset: string | undefined): string | undefined {
  const m = OFFSET.exec(offset?.trim() ?? "");
  if (!m) return undefined;
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  if (Number(m[3]) > 59 || (m[1] === "+" ? minutes > 14 * 60 : minutes > 12 * 60)) return undefined;
  return `${m[1]}${m[2]}:${m[3]}`;
}
