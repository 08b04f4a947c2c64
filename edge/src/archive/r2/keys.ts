/**
 * R2 key of one stored version of an instance. The trailing version makes a
 * re-sent instance a new object that replaces the old one only when the index
 * commit points at it, so a failed re-send never damages what is stored.
 */
export function objectKey(study: string, series: string, sop: string, version: string = crypto.randomUUID()): string {
  return `studies/${study}/series/${series}/instances/${sop}/${version}.dcm`;
}
