-- The v0.1 API's `server` object of each version as the exact JSON text it serves (the manifest
-- without its tools and instructions), made once when the version is inserted, so a page of the
-- listing splices stored texts instead of reading and parsing every manifest it serves. Null for
-- the rows stored before this migration until the registry fills them as it opens the database
-- (a migration cannot run the JavaScript that writes the text JSON.stringify writes); a null one
-- is made from the manifest on each read meanwhile.
ALTER TABLE `versions` ADD `server_json` text;
--> statement-breakpoint
-- Part of the immutable record, like the manifest it is cut from: set once (from null, by the
-- insert or the fill), never changed after.
CREATE TRIGGER versions_server_json_immutable
BEFORE UPDATE OF server_json ON versions
WHEN OLD.server_json IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'VERSION_IMMUTABLE: a published version cannot be changed');
END;
