CREATE TABLE `log_checkpoints` (
	`size` integer PRIMARY KEY NOT NULL,
	`root` blob NOT NULL,
	`envelope` text NOT NULL,
	`signed_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `log_entries` (
	`idx` integer PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`subject` text NOT NULL,
	`form` text NOT NULL,
	`body` blob NOT NULL,
	`leaf_hash` blob NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `log_entries_subject_idx` ON `log_entries` (`subject`,`kind`);--> statement-breakpoint
CREATE INDEX `log_entries_leaf_hash_idx` ON `log_entries` (`leaf_hash`);--> statement-breakpoint
CREATE TABLE `log_nodes` (
	`level` integer NOT NULL,
	`idx` integer NOT NULL,
	`hash` blob NOT NULL,
	PRIMARY KEY(`level`, `idx`)
);
--> statement-breakpoint
-- The log is append-only: leaves, node hashes and signed checkpoints never change nor go away.
CREATE TRIGGER log_entries_append_only_update BEFORE UPDATE ON log_entries
BEGIN
  SELECT RAISE(ABORT, 'LOG_APPEND_ONLY: a log entry cannot be changed');
END;
--> statement-breakpoint
CREATE TRIGGER log_entries_append_only_delete BEFORE DELETE ON log_entries
BEGIN
  SELECT RAISE(ABORT, 'LOG_APPEND_ONLY: a log entry cannot be deleted');
END;
--> statement-breakpoint
CREATE TRIGGER log_nodes_append_only_update BEFORE UPDATE ON log_nodes
BEGIN
  SELECT RAISE(ABORT, 'LOG_APPEND_ONLY: a log node cannot be changed');
END;
--> statement-breakpoint
CREATE TRIGGER log_nodes_append_only_delete BEFORE DELETE ON log_nodes
BEGIN
  SELECT RAISE(ABORT, 'LOG_APPEND_ONLY: a log node cannot be deleted');
END;
--> statement-breakpoint
CREATE TRIGGER log_checkpoints_append_only_update BEFORE UPDATE ON log_checkpoints
BEGIN
  SELECT RAISE(ABORT, 'LOG_APPEND_ONLY: a signed checkpoint cannot be changed');
END;
--> statement-breakpoint
CREATE TRIGGER log_checkpoints_append_only_delete BEFORE DELETE ON log_checkpoints
BEGIN
  SELECT RAISE(ABORT, 'LOG_APPEND_ONLY: a signed checkpoint cannot be deleted');
END;
--> statement-breakpoint
-- Leaves are appended in order, with no gap: entry n is the log's nth leaf.
CREATE TRIGGER log_entries_in_order BEFORE INSERT ON log_entries
WHEN NEW.idx <> (SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries)
BEGIN
  SELECT RAISE(ABORT, 'LOG_APPEND_ONLY: log entries are appended in order');
END;
