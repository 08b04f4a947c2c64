-- Authentication (issue 6). The edge's own bearer tokens: one row per token,
-- holding its SHA-256 and never the token itself; a row is what makes a
-- signed token valid, so deleting or revoking it ends the token at once.
CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY,          -- the token's jti
  name TEXT NOT NULL,           -- whom it was made for (its sub)
  token_sha256 TEXT NOT NULL,   -- lower-case hex SHA-256 of the token string
  scopes TEXT NOT NULL,         -- space-separated: read write delete admin
  created_at INTEGER NOT NULL,  -- ms since the epoch
  expires_at INTEGER NOT NULL,  -- ms since the epoch
  revoked_at INTEGER            -- ms since the epoch; NULL while valid
);

-- Agents whose credential was revoked: their tunnel is refused and cut.
CREATE TABLE agent_revocations (
  agent_id TEXT PRIMARY KEY,
  revoked_at INTEGER NOT NULL
);
