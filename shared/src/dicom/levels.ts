/**
 * Which top-level attributes the index keeps at each level of the
 * Patient/Study/Series hierarchy (PS3.4 C.6.1.1 and C.6.2.1, and the default
 * QIDO-RS return attributes of PS3.18 Table 10.6.3-3/-4). The index copies
 * these from the most recently stored instance of the level; everything else
 * stays in the instance's metadata.
 */
export const PATIENT_LEVEL: readonly string[] = [
  "00100010", // PatientName
  "00100020", // PatientID
  "00100021", // IssuerOfPatientID
  "00100024", // IssuerOfPatientIDQualifiersSequence
  "00100030", // PatientBirthDate
  "00100032", // PatientBirthTime
  "00100040", // PatientSex
  "00101000", // OtherPatientIDs (retired, still sent)
  "00101001", // OtherPatientNames
  "00101002", // OtherPatientIDsSequence
  "00102160", // EthnicGroup
  "00104000", // PatientComments
];

export const STUDY_LEVEL: readonly string[] = [
  "00080005", // SpecificCharacterSet: needed to read the level's text values
  "00080020", // StudyDate
  "00080030", // StudyTime
  "00080050", // AccessionNumber
  "00080051", // IssuerOfAccessionNumberSequence
  "00080090", // ReferringPhysicianName
  "00080201", // TimezoneOffsetFromUTC
  "00081030", // StudyDescription
  "00081032", // ProcedureCodeSequence
  "00081060", // NameOfPhysiciansReadingStudy
  "00101010", // PatientAge
  "00101020", // PatientSize
  "00101030", // PatientWeight
  "0020000D", // StudyInstanceUID
  "00200010", // StudyID
];

export const SERIES_LEVEL: readonly string[] = [
  "00080005", // SpecificCharacterSet
  "00080060", // Modality
  "00080201", // TimezoneOffsetFromUTC
  "0008103E", // SeriesDescription
  "00081050", // PerformingPhysicianName
  "00081090", // ManufacturerModelName
  "00080070", // Manufacturer
  "00180015", // BodyPartExamined
  "0020000E", // SeriesInstanceUID
  "00200011", // SeriesNumber
  "00200060", // Laterality
  "00400244", // PerformedProcedureStepStartDate
  "00400245", // PerformedProcedureStepStartTime
  "00400275", // RequestAttributesSequence
];
