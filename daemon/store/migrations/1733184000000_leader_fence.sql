-- Up Migration
-- Leader fencing (docs/scaling.md#leader-and-fencing). The Redis lease picks the leader and its
-- epoch; this row is where the epoch is enforced. A new leader moves it forward before acting
-- (waiting for every transaction that still holds it), and every leader-only transaction first takes
-- it FOR SHARE and checks it still names its own epoch, so a paused old leader changes nothing.
CREATE TABLE leader_fence (
  id smallint PRIMARY KEY CHECK (id = 1),
  epoch bigint NOT NULL,
  replica_id text NOT NULL,
  installed_at timestamptz NOT NULL
);

-- One row per term, for the record and the chaos checker: who led in each epoch, and when that
-- leader's fenced transactions ran (clock_timestamp() at the fence check, under the shared lock).
CREATE TABLE leader_terms (
  epoch bigint PRIMARY KEY,
  replica_id text NOT NULL,
  acquired_at timestamptz NOT NULL,
  actions bigint NOT NULL DEFAULT 0,
  first_action_at timestamptz,
  last_action_at timestamptz
);

-- Down Migration
DROP TABLE leader_terms;
DROP TABLE leader_fence;
