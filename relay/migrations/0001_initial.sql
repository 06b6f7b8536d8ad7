-- One schema for SQLite and PostgreSQL: only TEXT and BIGINT columns.
-- Hashes are lower-case hex without 0x; addresses lower-case 0x-hex; times Unix seconds.

CREATE TABLE task_args (
    task_id    TEXT PRIMARY KEY,
    sha256     TEXT NOT NULL,
    size       BIGINT NOT NULL,
    uploader   TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE task_results (
    task_id    TEXT PRIMARY KEY,
    uploader   TEXT NOT NULL,
    score      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE result_files (
    task_id      TEXT NOT NULL REFERENCES task_results (task_id),
    idx          BIGINT NOT NULL,
    name         TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    size         BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    PRIMARY KEY (task_id, idx),
    UNIQUE (task_id, name)
);

CREATE TABLE model_files (
    model      TEXT NOT NULL,
    path       TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    size       BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (model, path)
);

CREATE INDEX model_files_by_sha256 ON model_files (sha256);
