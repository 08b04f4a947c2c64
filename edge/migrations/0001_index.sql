-- The archive's index (DESIGN: D1 holds the index, R2 the objects).
-- Columns are the attributes QIDO-RS and C-FIND match on (PS3.18 Table
-- 10.6.1-5, PS3.4 C.6.2.1); everything else a response needs is kept as a
-- DICOM JSON fragment in `attributes`, so rows stay small and a query never
-- touches R2.

CREATE TABLE patients (
  id            INTEGER PRIMARY KEY,
  patient_id    TEXT NOT NULL,            -- (0010,0020), '' when absent
  issuer        TEXT NOT NULL DEFAULT '', -- (0010,0021)
  patient_name  TEXT,                     -- (0010,0010) Alphabetic group as received
  birth_date    TEXT,                     -- (0010,0030) YYYYMMDD
  sex           TEXT,                     -- (0010,0040)
  attributes    TEXT NOT NULL DEFAULT '{}',
  updated_at    INTEGER NOT NULL,
  UNIQUE (patient_id, issuer)
);
CREATE INDEX patients_name ON patients (patient_name);

CREATE TABLE studies (
  id                        INTEGER PRIMARY KEY,
  study_uid                 TEXT NOT NULL UNIQUE, -- (0020,000D)
  patient_pk                INTEGER NOT NULL REFERENCES patients (id),
  study_date                TEXT,                 -- (0008,0020) YYYYMMDD
  study_time                TEXT,                 -- (0008,0030)
  accession_number          TEXT,                 -- (0008,0050)
  study_id                  TEXT,                 -- (0020,0010)
  referring_physician_name  TEXT,                 -- (0008,0090)
  study_description         TEXT,                 -- (0008,1030)
  modalities                TEXT,                 -- ModalitiesInStudy (0008,0061), kept current
  series_count              INTEGER NOT NULL DEFAULT 0, -- (0020,1206)
  instance_count            INTEGER NOT NULL DEFAULT 0, -- (0020,1208)
  attributes                TEXT NOT NULL DEFAULT '{}',
  updated_at                INTEGER NOT NULL
);
CREATE INDEX studies_patient ON studies (patient_pk);
CREATE INDEX studies_date ON studies (study_date, study_time);
CREATE INDEX studies_accession ON studies (accession_number);

CREATE TABLE series (
  id                 INTEGER PRIMARY KEY,
  series_uid         TEXT NOT NULL UNIQUE, -- (0020,000E)
  study_pk           INTEGER NOT NULL REFERENCES studies (id),
  modality           TEXT,                 -- (0008,0060)
  series_number      INTEGER,              -- (0020,0011)
  series_description TEXT,                 -- (0008,103E)
  performed_start_date TEXT,               -- (0040,0244)
  performed_start_time TEXT,               -- (0040,0245)
  instance_count     INTEGER NOT NULL DEFAULT 0, -- (0020,1209)
  attributes         TEXT NOT NULL DEFAULT '{}',
  updated_at         INTEGER NOT NULL
);
CREATE INDEX series_study ON series (study_pk);
CREATE INDEX series_modality ON series (modality);

CREATE TABLE instances (
  id                  INTEGER PRIMARY KEY,
  sop_uid             TEXT NOT NULL UNIQUE, -- (0008,0018)
  series_pk           INTEGER NOT NULL REFERENCES series (id),
  study_pk            INTEGER NOT NULL REFERENCES studies (id),
  sop_class_uid       TEXT NOT NULL,        -- (0008,0016)
  instance_number     INTEGER,              -- (0020,0013)
  transfer_syntax_uid TEXT NOT NULL,        -- (0002,0010), as stored
  number_of_frames    INTEGER,              -- (0028,0008)
  rows                INTEGER,
  columns             INTEGER,
  size                INTEGER NOT NULL,     -- bytes of the Part-10 object
  dataset_offset      INTEGER NOT NULL,     -- where the dataset starts, after File Meta
  object_key          TEXT NOT NULL,        -- R2 key of the bytes as received
  frames              TEXT,                 -- JSON: per frame, [[offset, length], ...] in the object
  bulk                TEXT,                 -- JSON: bulk data path -> [offset, length]
  attributes          TEXT NOT NULL DEFAULT '{}',
  updated_at          INTEGER NOT NULL
);
CREATE INDEX instances_series ON instances (series_pk, instance_number);
CREATE INDEX instances_study ON instances (study_pk);
CREATE INDEX instances_sop_class ON instances (sop_class_uid);

-- WADO-RS /metadata: the instance's DICOM JSON without bulk data, BulkDataURIs
-- relative to the instance. A study's metadata is one indexed range read.
CREATE TABLE instance_metadata (
  instance_pk INTEGER PRIMARY KEY REFERENCES instances (id) ON DELETE CASCADE,
  study_pk    INTEGER NOT NULL,
  series_pk   INTEGER NOT NULL,
  json        TEXT NOT NULL
);
CREATE INDEX instance_metadata_series ON instance_metadata (series_pk);
CREATE INDEX instance_metadata_study ON instance_metadata (study_pk);

-- Objects written to R2 but not yet indexed. A row exists from before the
-- upload starts until the index commit (or the cleanup after a failure), so
-- an invocation that dies half-way leaves a row the scheduled sweep finds.
CREATE TABLE pending_objects (
  object_key TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
);
CREATE INDEX pending_objects_created ON pending_objects (created_at);

-- Agents connected to their AgentHub Durable Object (maintained by the hub).
CREATE TABLE agent_connections (
  agent_id     TEXT PRIMARY KEY,
  connected_at INTEGER NOT NULL
);
