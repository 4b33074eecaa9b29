CREATE TABLE `version_tools` (
	`version_id` integer NOT NULL,
	`server` text NOT NULL,
	`tool` text NOT NULL,
	PRIMARY KEY(`version_id`, `tool`),
	FOREIGN KEY (`version_id`) REFERENCES `versions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `version_tools_tool_idx` ON `version_tools` (`tool`);--> statement-breakpoint
-- Every tool name of the versions already published (the shadowing check reads this table).
INSERT OR IGNORE INTO version_tools (version_id, server, tool)
SELECT versions.id, versions.server, json_extract(tool.value, '$.name')
FROM versions, json_each(versions.manifest, '$.tools') AS tool
WHERE json_valid(versions.manifest) AND json_extract(tool.value, '$.name') IS NOT NULL;
--> statement-breakpoint
-- A counted approval is permanent: deleting one would silently change a version's standing.
CREATE TRIGGER approvals_no_delete
BEFORE DELETE ON approvals
BEGIN
  SELECT RAISE(ABORT, 'APPROVAL_PERMANENT: approvals cannot be deleted');
END;
--> statement-breakpoint
-- Status moves forward only: pending -> approved | rejected | revoked, approved -> revoked.
CREATE TRIGGER versions_status_forward
BEFORE UPDATE OF status ON versions
WHEN NEW.status IS NOT OLD.status AND (NEW.status = 'pending' OR (OLD.status = 'approved' AND NEW.status <> 'revoked'))
BEGIN
  SELECT RAISE(ABORT, 'ALREADY_DECIDED: a version status only moves forward');
END;
--> statement-breakpoint
-- No status change without its audit event: the registry appends the event first, in the same
-- transaction, so the newest event must record exactly this change.
CREATE TRIGGER versions_status_audited
BEFORE UPDATE OF status ON versions
WHEN NEW.status IS NOT OLD.status AND NOT EXISTS (
  SELECT 1 FROM (SELECT action, subject FROM audit_events ORDER BY seq DESC LIMIT 1) AS newest
  WHERE newest.subject = NEW.server || '@' || NEW.version
    AND newest.action = CASE NEW.status WHEN 'approved' THEN 'version.approved' WHEN 'rejected' THEN 'version.reject' WHEN 'revoked' THEN 'version.revoke' END
)
BEGIN
  SELECT RAISE(ABORT, 'AUDIT_REQUIRED: a version status changes only with its audit event');
END;
--> statement-breakpoint
-- Likewise no approval without its audit event.
CREATE TRIGGER approvals_audited
BEFORE INSERT ON approvals
WHEN NOT EXISTS (
  SELECT 1 FROM (SELECT action, subject, details FROM audit_events ORDER BY seq DESC LIMIT 1) AS newest
  JOIN versions ON versions.id = NEW.version_id
  WHERE newest.action = 'version.approve' AND newest.subject = versions.server || '@' || versions.version
    AND json_extract(newest.details, '$.approval') = NEW.digest
)
BEGIN
  SELECT RAISE(ABORT, 'AUDIT_REQUIRED: an approval is recorded only with its audit event');
END;
