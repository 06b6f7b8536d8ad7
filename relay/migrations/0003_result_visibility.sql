-- Who may read a task's results once accepted: 'public' (anyone) or 'private' (its creator
-- and selected nodes), chosen by the creator when it stores the arguments. Tasks stored
-- before this column existed were private to their parties, and stay so.
ALTER TABLE task_args ADD COLUMN visibility TEXT NOT NULL DEFAULT 'private';
