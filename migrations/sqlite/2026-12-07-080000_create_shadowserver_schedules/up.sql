-- Import history (issue 21): where each ledger row came from (`upload`, `cli`, `pull`,
-- `schedule`, `download`, `query`), who started it, the report's date (for `pull --check`
-- against reports/stats), the outcome counters a summary holds, and when it finished.
ALTER TABLE import_files ADD COLUMN source TEXT NOT NULL DEFAULT 'cli';
ALTER TABLE import_files ADD COLUMN started_by TEXT;
ALTER TABLE import_files ADD COLUMN report_date DATE;
ALTER TABLE import_files ADD COLUMN indicators_updated BIGINT NOT NULL DEFAULT 0;
ALTER TABLE import_files ADD COLUMN indicators_unchanged BIGINT NOT NULL DEFAULT 0;
ALTER TABLE import_files ADD COLUMN finished_at TIMESTAMP;
-- The history route pages a feed's ledger newest first.
CREATE INDEX import_files_history ON import_files (feed_id, created_at, id);
-- `pull --check` sums rows per report type and date.
CREATE INDEX import_files_report_date ON import_files (feed_id, report_date, report_type);

-- Scheduled Reports API pulls into one user's feed. `reports` and `types` are JSON arrays of
-- strings (empty: every subscribed report, every type); a pull lists the `days_back` days up
-- to today. `next_run_at` is when it is next due; the gateway that moves it forward in a
-- write transaction (compare-and-set) runs it.
CREATE TABLE shadowserver_schedules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    feed_id BIGINT NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    reports TEXT NOT NULL DEFAULT '[]',
    types TEXT NOT NULL DEFAULT '[]',
    interval_hours INTEGER NOT NULL DEFAULT 24,
    days_back INTEGER NOT NULL DEFAULT 2,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    next_run_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX shadowserver_schedules_due ON shadowserver_schedules (next_run_at) WHERE enabled;

-- One run of a schedule. A `running` run belongs to the gateway named in `lease_owner` until
-- `lease_expires_at`; the holder renews it while it works, and a run whose lease expired
-- (its gateway died) is taken over by the next gateway, which finishes it (the import ledger
-- makes importing a report again change nothing). `errors` is a JSON array of objects.
CREATE TABLE shadowserver_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule_id BIGINT NOT NULL REFERENCES shadowserver_schedules (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('schedule', 'manual')),
    state TEXT NOT NULL CHECK (state IN ('running', 'finished', 'failed')),
    lease_owner TEXT NOT NULL,
    lease_expires_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1,
    date_from DATE NOT NULL,
    date_to DATE NOT NULL,
    reports_listed BIGINT NOT NULL DEFAULT 0,
    reports_imported BIGINT NOT NULL DEFAULT 0,
    reports_skipped BIGINT NOT NULL DEFAULT 0,
    reports_failed BIGINT NOT NULL DEFAULT 0,
    rows_read BIGINT NOT NULL DEFAULT 0,
    errors TEXT NOT NULL DEFAULT '[]',
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX shadowserver_runs_schedule ON shadowserver_runs (schedule_id, state);
CREATE INDEX shadowserver_runs_lease ON shadowserver_runs (lease_expires_at) WHERE state = 'running';
