-- The database-level guarantees of the SQLite migrations 0001, 0002 and 0004, in PL/pgSQL, with
-- the same refusal codes at the start of each message (the application and the tests match them).
-- Every refusal raises SQLSTATE 23000 class (integrity_constraint_violation) with the code first.

-- Published versions are immutable: their content can never change in place.
CREATE FUNCTION sigil_versions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.server, NEW.version, NEW.digest, NEW.tools_digest, NEW.manifest, NEW.bundle, NEW.provenance, NEW.signer_kind, NEW.signer_fingerprint, NEW.signer_identity, NEW.publisher, NEW.published_at)
     IS DISTINCT FROM (OLD.server, OLD.version, OLD.digest, OLD.tools_digest, OLD.manifest, OLD.bundle, OLD.provenance, OLD.signer_kind, OLD.signer_fingerprint, OLD.signer_identity, OLD.publisher, OLD.published_at) THEN
    RAISE EXCEPTION 'VERSION_IMMUTABLE: a published version cannot be changed' USING ERRCODE = '23000';
  END IF;
  IF NEW.status IS DISTINCT FROM OLD.status THEN
    -- A decision is final, and a status only moves forward.
    IF OLD.status IN ('rejected', 'revoked') THEN
      RAISE EXCEPTION 'ALREADY_DECIDED: the version was already decided' USING ERRCODE = '23000';
    END IF;
    IF NEW.status = 'pending' OR (OLD.status = 'approved' AND NEW.status <> 'revoked') THEN
      RAISE EXCEPTION 'ALREADY_DECIDED: a version status only moves forward' USING ERRCODE = '23000';
    END IF;
    -- Only with its audit event, the newest one in the chain.
    IF NOT EXISTS (
      SELECT 1 FROM (SELECT action, subject FROM audit_events ORDER BY seq DESC LIMIT 1) AS newest
      WHERE newest.subject = NEW.server || '@' || NEW.version
        AND newest.action = CASE NEW.status WHEN 'approved' THEN 'version.approved' WHEN 'rejected' THEN 'version.reject' WHEN 'revoked' THEN 'version.revoke' END
    ) THEN
      RAISE EXCEPTION 'AUDIT_REQUIRED: a version status changes only with its audit event' USING ERRCODE = '23000';
    END IF;
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER versions_guard BEFORE UPDATE ON versions FOR EACH ROW EXECUTE FUNCTION sigil_versions_guard();
--> statement-breakpoint
-- A deleted version leaves a tombstone: name@version is never reusable.
CREATE FUNCTION sigil_versions_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO tombstones (server, version, digest, deleted_at)
  VALUES (OLD.server, OLD.version, OLD.digest, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
  ON CONFLICT DO NOTHING;
  RETURN OLD;
END $$;
--> statement-breakpoint
CREATE TRIGGER versions_tombstone AFTER DELETE ON versions FOR EACH ROW EXECUTE FUNCTION sigil_versions_tombstone();
--> statement-breakpoint
CREATE FUNCTION sigil_versions_no_reuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM tombstones WHERE server = NEW.server AND version = NEW.version) THEN
    RAISE EXCEPTION 'VERSION_EXISTS: this name@version was published and deleted; it is never reusable' USING ERRCODE = '23000';
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER versions_no_reuse BEFORE INSERT ON versions FOR EACH ROW EXECUTE FUNCTION sigil_versions_no_reuse();
--> statement-breakpoint
-- Append-only tables: the message names what cannot change.
CREATE FUNCTION sigil_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = '23000';
END $$;
--> statement-breakpoint
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events FOR EACH ROW EXECUTE FUNCTION sigil_refuse('AUDIT_APPEND_ONLY: audit events cannot be changed');
--> statement-breakpoint
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION sigil_refuse('AUDIT_APPEND_ONLY: audit events cannot be deleted');
--> statement-breakpoint
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION sigil_refuse('AUDIT_APPEND_ONLY: audit events cannot be deleted');
--> statement-breakpoint
CREATE TRIGGER approvals_immutable BEFORE UPDATE ON approvals FOR EACH ROW EXECUTE FUNCTION sigil_refuse('VERSION_IMMUTABLE: approvals cannot be changed');
--> statement-breakpoint
CREATE TRIGGER approvals_no_delete BEFORE DELETE ON approvals FOR EACH ROW EXECUTE FUNCTION sigil_refuse('APPROVAL_PERMANENT: approvals cannot be deleted');
--> statement-breakpoint
CREATE TRIGGER log_entries_append_only_update BEFORE UPDATE ON log_entries FOR EACH ROW EXECUTE FUNCTION sigil_refuse('LOG_APPEND_ONLY: a log entry cannot be changed');
--> statement-breakpoint
CREATE TRIGGER log_entries_append_only_delete BEFORE DELETE ON log_entries FOR EACH ROW EXECUTE FUNCTION sigil_refuse('LOG_APPEND_ONLY: a log entry cannot be deleted');
--> statement-breakpoint
CREATE TRIGGER log_nodes_append_only_update BEFORE UPDATE ON log_nodes FOR EACH ROW EXECUTE FUNCTION sigil_refuse('LOG_APPEND_ONLY: a log node cannot be changed');
--> statement-breakpoint
CREATE TRIGGER log_nodes_append_only_delete BEFORE DELETE ON log_nodes FOR EACH ROW EXECUTE FUNCTION sigil_refuse('LOG_APPEND_ONLY: a log node cannot be deleted');
--> statement-breakpoint
CREATE TRIGGER log_checkpoints_append_only_update BEFORE UPDATE ON log_checkpoints FOR EACH ROW EXECUTE FUNCTION sigil_refuse('LOG_APPEND_ONLY: a signed checkpoint cannot be changed');
--> statement-breakpoint
CREATE TRIGGER log_checkpoints_append_only_delete BEFORE DELETE ON log_checkpoints FOR EACH ROW EXECUTE FUNCTION sigil_refuse('LOG_APPEND_ONLY: a signed checkpoint cannot be deleted');
--> statement-breakpoint
-- An approval is recorded only with its audit event, the newest one in the chain.
CREATE FUNCTION sigil_approvals_audited() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM (SELECT action, subject, details FROM audit_events ORDER BY seq DESC LIMIT 1) AS newest
    JOIN versions ON versions.id = NEW.version_id
    WHERE newest.action = 'version.approve' AND newest.subject = versions.server || '@' || versions.version
      AND newest.details::jsonb ->> 'approval' = NEW.digest
  ) THEN
    RAISE EXCEPTION 'AUDIT_REQUIRED: an approval is recorded only with its audit event' USING ERRCODE = '23000';
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER approvals_audited BEFORE INSERT ON approvals FOR EACH ROW EXECUTE FUNCTION sigil_approvals_audited();
--> statement-breakpoint
-- Leaves are appended in order, with no gap: entry n is the log's nth leaf.
CREATE FUNCTION sigil_log_entries_in_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.idx <> (SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries) THEN
    RAISE EXCEPTION 'LOG_APPEND_ONLY: log entries are appended in order' USING ERRCODE = '23000';
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER log_entries_in_order BEFORE INSERT ON log_entries FOR EACH ROW EXECUTE FUNCTION sigil_log_entries_in_order();
