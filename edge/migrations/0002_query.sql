-- Columns and indexes for the query engine (shared/src/query). The archive
-- fills the new columns from shared/src/query/index-columns.ts when it
-- writes a row; rows indexed before this migration keep NULL until they are
-- re-indexed, and NULL matches only universal keys.

-- fuzzyName(): every part of every component group of the name, case and
-- accents folded, between spaces (" MULLER HANS PETER "), for fuzzy Person
-- Name matching (PS3.4 C.2.2.2.1.1, PS3.18 8.3.4.2).
ALTER TABLE patients ADD COLUMN patient_name_fuzzy TEXT;
ALTER TABLE studies ADD COLUMN referring_physician_fuzzy TEXT;

-- normalizeTime(): TM as fixed-width "HHMMSS.ffffff", so that ranges
-- (PS3.4 C.2.2.2.5.2) and ORDER BY compare as text ("1030" is "103000.000000").
ALTER TABLE studies ADD COLUMN study_time_norm TEXT;
ALTER TABLE series ADD COLUMN performed_start_time_norm TEXT;

-- Study search, newest first: the date range and the ORDER BY of the
-- compiled query (study_date DESC, study_time_norm DESC, id DESC) walk this
-- index backwards. It replaces studies_date, whose time was not sortable.
DROP INDEX IF EXISTS studies_date;
CREATE INDEX studies_date_time ON studies (study_date, study_time_norm);

-- ModalitiesInStudy is an EXISTS over the study's series; with the modality
-- in the index it is answered from the index alone. It covers series_study.
DROP INDEX IF EXISTS series_study;
CREATE INDEX series_study_modality ON series (study_pk, modality);

-- Single value, wild card prefix ("DOE*" is GLOB 'DOE*') and scoped
-- ordering. PatientID already has UNIQUE (patient_id, issuer);
-- AccessionNumber, SOPClassUID and the UIDs have theirs in 0001.
CREATE INDEX patients_birth_date ON patients (birth_date);
CREATE INDEX studies_study_id ON studies (study_id);
CREATE INDEX studies_referring_physician ON studies (referring_physician_name);
CREATE INDEX series_study_number ON series (study_pk, series_number);
CREATE INDEX series_performed ON series (performed_start_date, performed_start_time_norm);

-- Fuzzy names: LIKE '% HA%' cannot seek (the part may be any of the name's
-- parts), so it is tested row by row on the patients or studies the other
-- keys leave; when the name is the only key, SQLite can scan this narrow
-- index instead of the table. Study search never touches instances.
CREATE INDEX patients_name_fuzzy ON patients (patient_name_fuzzy);
CREATE INDEX studies_referring_fuzzy ON studies (referring_physician_fuzzy);
