-- FHIR R4 Subscriptions (edge/src/fhir/subscription): rest-hook channels
-- notified when a study is created, changed or deleted. The resource is kept
-- as the client sent it (plus id); the columns are what the server reads and
-- changes: status, the channel, and the delivery state (R4 Subscription.error).

CREATE TABLE subscriptions (
  id             TEXT PRIMARY KEY,         -- Subscription.id, assigned by the server
  status         TEXT NOT NULL CHECK (status IN ('requested', 'active', 'error', 'off')),
  criteria       TEXT NOT NULL,            -- "ImagingStudy[?params]"
  base           TEXT NOT NULL,            -- the FHIR base it was created at: criteria may name this server's Patients by URL
  endpoint       TEXT NOT NULL,            -- channel.endpoint (https, or http on loopback)
  headers        TEXT NOT NULL DEFAULT '[]', -- channel.header: JSON array of "Name: value"
  payload        TEXT,                     -- channel.payload mime type; NULL: empty notifications
  reason         TEXT NOT NULL,
  error          TEXT,                     -- the last delivery error (Subscription.error)
  failure_count  INTEGER NOT NULL DEFAULT 0, -- consecutive failed deliveries; 0 after a success
  resource       TEXT NOT NULL,            -- the resource JSON as stored
  created_at     INTEGER NOT NULL,         -- ms since the epoch
  updated_at     INTEGER NOT NULL          -- ms since the epoch (meta.lastUpdated)
);
-- The queue consumer reads the active ones on every study change.
CREATE INDEX subscriptions_status ON subscriptions (status);
