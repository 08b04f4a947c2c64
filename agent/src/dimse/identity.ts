/**
 * This implementation's identity in every association it takes part in
 * (PS3.7 D.3.3.2): a UUID-derived UID (PS3.5 B.2), so no registered root
 * is needed, and a version name of at most 16 characters.
 */
export const IMPLEMENTATION_CLASS_UID = "2.25.181339042962731393611349924461425532961";
export const IMPLEMENTATION_VERSION_NAME = "DICOM_EDGE_1";
