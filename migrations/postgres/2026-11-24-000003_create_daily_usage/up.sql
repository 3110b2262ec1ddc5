-- Requests per subject and UTC day: subject is 'u:<user id>' or 'a:<client address>'.
-- One row per subject and day, incremented atomically (INSERT ... ON CONFLICT ... WHERE used < limit).
CREATE TABLE daily_usage (
    subject TEXT NOT NULL,
    day DATE NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (subject, day)
);
