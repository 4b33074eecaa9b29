CREATE INDEX `versions_server_status_idx` ON `versions` (`server`,`status`,`version`);
--> statement-breakpoint
-- Search by substring of a server name (GET /v1/servers?search=, GET /v0.1/servers?search=),
-- answered from a trigram index instead of a LIKE test of every name: each server name's
-- distinct trigrams (three characters, ASCII letters lowered as LIKE folds them) with the name,
-- and how many names hold each trigram. A search walks the names of its rarest trigram in name
-- order (the primary key) and tests LIKE on those alone (packages/db/src/reads.ts). Kept by the
-- triggers below in the same transaction as the servers row, so a name is found the moment it
-- is stored, whatever wrote it. FTS5's trigram tokenizer was measured first: its phrase and AND
-- queries decode every trigram's list, and in names that share "io.github." and more that cost
-- as much as the scan it replaced.
CREATE TABLE `server_trigrams` (
	`trigram` text NOT NULL,
	`name` text NOT NULL,
	PRIMARY KEY(`trigram`, `name`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `server_trigram_counts` (
	`trigram` text PRIMARY KEY NOT NULL,
	`n` integer NOT NULL
) WITHOUT ROWID;
--> statement-breakpoint
-- A name's distinct trigrams: the positions 0 .. length - 3 come from json_each over an array of
-- length + 1 zeros (zeroblob's hex digits, every "00" made "0,"), since statements in a trigger
-- cannot use a recursive WITH.
CREATE TRIGGER servers_trigrams_insert
AFTER INSERT ON servers
BEGIN
  INSERT INTO server_trigrams (trigram, name) SELECT trigram, NEW.name FROM (SELECT DISTINCT lower(substr(NEW.name, j.key + 1, 3)) AS trigram FROM json_each('[' || replace(hex(zeroblob(length(NEW.name))), '00', '0,') || '0]') j WHERE j.key < length(NEW.name) - 2);
  INSERT INTO server_trigram_counts (trigram, n) SELECT trigram, 1 FROM (SELECT DISTINCT lower(substr(NEW.name, j.key + 1, 3)) AS trigram FROM json_each('[' || replace(hex(zeroblob(length(NEW.name))), '00', '0,') || '0]') j WHERE j.key < length(NEW.name) - 2) WHERE true
    ON CONFLICT (trigram) DO UPDATE SET n = n + 1;
END;
--> statement-breakpoint
CREATE TRIGGER servers_trigrams_delete
AFTER DELETE ON servers
BEGIN
  DELETE FROM server_trigrams WHERE name = OLD.name AND trigram IN (SELECT DISTINCT lower(substr(OLD.name, j.key + 1, 3)) AS trigram FROM json_each('[' || replace(hex(zeroblob(length(OLD.name))), '00', '0,') || '0]') j WHERE j.key < length(OLD.name) - 2);
  UPDATE server_trigram_counts SET n = n - 1 WHERE trigram IN (SELECT DISTINCT lower(substr(OLD.name, j.key + 1, 3)) AS trigram FROM json_each('[' || replace(hex(zeroblob(length(OLD.name))), '00', '0,') || '0]') j WHERE j.key < length(OLD.name) - 2);
  DELETE FROM server_trigram_counts WHERE n <= 0 AND trigram IN (SELECT DISTINCT lower(substr(OLD.name, j.key + 1, 3)) AS trigram FROM json_each('[' || replace(hex(zeroblob(length(OLD.name))), '00', '0,') || '0]') j WHERE j.key < length(OLD.name) - 2);
END;
--> statement-breakpoint
CREATE TRIGGER servers_trigrams_rename
AFTER UPDATE OF name ON servers
WHEN NEW.name IS NOT OLD.name
BEGIN
  DELETE FROM server_trigrams WHERE name = OLD.name AND trigram IN (SELECT DISTINCT lower(substr(OLD.name, j.key + 1, 3)) AS trigram FROM json_each('[' || replace(hex(zeroblob(length(OLD.name))), '00', '0,') || '0]') j WHERE j.key < length(OLD.name) - 2);
  UPDATE server_trigram_counts SET n = n - 1 WHERE trigram IN (SELECT DISTINCT lower(substr(OLD.name, j.key + 1, 3)) AS trigram FROM json_each('[' || replace(hex(zeroblob(length(OLD.name))), '00', '0,') || '0]') j WHERE j.key < length(OLD.name) - 2);
  DELETE FROM server_trigram_counts WHERE n <= 0 AND trigram IN (SELECT DISTINCT lower(substr(OLD.name, j.key + 1, 3)) AS trigram FROM json_each('[' || replace(hex(zeroblob(length(OLD.name))), '00', '0,') || '0]') j WHERE j.key < length(OLD.name) - 2);
  INSERT INTO server_trigrams (trigram, name) SELECT trigram, NEW.name FROM (SELECT DISTINCT lower(substr(NEW.name, j.key + 1, 3)) AS trigram FROM json_each('[' || replace(hex(zeroblob(length(NEW.name))), '00', '0,') || '0]') j WHERE j.key < length(NEW.name) - 2);
  INSERT INTO server_trigram_counts (trigram, n) SELECT trigram, 1 FROM (SELECT DISTINCT lower(substr(NEW.name, j.key + 1, 3)) AS trigram FROM json_each('[' || replace(hex(zeroblob(length(NEW.name))), '00', '0,') || '0]') j WHERE j.key < length(NEW.name) - 2) WHERE true
    ON CONFLICT (trigram) DO UPDATE SET n = n + 1;
END;
--> statement-breakpoint
-- The names stored before this migration.
INSERT INTO server_trigrams (trigram, name)
  SELECT DISTINCT lower(substr(s.name, j.key + 1, 3)), s.name FROM servers s, json_each('[' || replace(hex(zeroblob(length(s.name))), '00', '0,') || '0]') j WHERE j.key < length(s.name) - 2;
--> statement-breakpoint
INSERT INTO server_trigram_counts (trigram, n) SELECT trigram, count(*) FROM server_trigrams GROUP BY trigram;
