-- Up Migration
-- Trace context (docs/tracing.md). `tasks.trace_parent` is the W3C traceparent of the span a task's
-- attempts are children of: for a pipeline step's task, the step span (trace = the run's), written
-- with the task; NULL for a task outside any run, whose own trace is derived from its id.
-- `task_attempts.traceparent` is what the agent sent back with complete or fail: its handler span.
ALTER TABLE tasks ADD COLUMN trace_parent text;
ALTER TABLE task_attempts ADD COLUMN traceparent text;

-- Down Migration
ALTER TABLE task_attempts DROP COLUMN traceparent;
ALTER TABLE tasks DROP COLUMN trace_parent;
