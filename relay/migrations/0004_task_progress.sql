-- Each selected node's latest progress report on a task (a node's word, shown to the
-- requester, never trusted): steps done of steps in all, and when it arrived (Unix s).

CREATE TABLE task_progress (
    task_id    TEXT NOT NULL,
    node       TEXT NOT NULL,
    step       BIGINT NOT NULL,
    steps      BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (task_id, node)
);
