-- Up Migration
-- The coordination reads (success rate, failures by class, agent metrics) scan attempts by the time
-- they ended; without this index every read walks the whole attempt history.
CREATE INDEX task_attempts_finished_idx ON task_attempts (finished_at) WHERE finished_at IS NOT NULL;

-- Down Migration
DROP INDEX task_attempts_finished_idx;
