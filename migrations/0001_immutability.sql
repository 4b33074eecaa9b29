-- Published versions are immutable: their content can never change in place, whatever the
-- application does. Status and decision columns may change (pending -> approved, revoked).
CREATE TRIGGER versions_content_immutable
BEFORE UPDATE OF server, version, digest, tools_digest, manifest, bundle, provenance, signer_kind, signer_fingerprint, signer_identity, publisher, published_at ON versions
BEGIN
  SELECT RAISE(ABORT, 'VERSION_IMMUTABLE: a published version cannot be changed');
END;
--> statement-breakpoint
-- A decision is final: once rejected or revoked, the status never changes again.
CREATE TRIGGER versions_decision_final
BEFORE UPDATE OF status ON versions
WHEN OLD.status IN ('rejected', 'revoked')
BEGIN
  SELECT RAISE(ABORT, 'ALREADY_DECIDED: the version was already decided');
END;
--> statement-breakpoint
-- A deleted version leaves a tombstone: name@version is never reusable.
CREATE TRIGGER versions_tombstone
AFTER DELETE ON versions
BEGIN
  INSERT OR IGNORE INTO tombstones (server, version, digest, deleted_at) VALUES (OLD.server, OLD.version, OLD.digest, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
END;
--> statement-breakpoint
CREATE TRIGGER versions_no_reuse
BEFORE INSERT ON versions
WHEN EXISTS (SELECT 1 FROM tombstones WHERE server = NEW.server AND version = NEW.version)
BEGIN
  SELECT RAISE(ABORT, 'VERSION_EXISTS: this name@version was published and deleted; it is never reusable');
END;
--> statement-breakpoint
-- The audit log is append-only.
CREATE TRIGGER audit_events_no_update
BEFORE UPDATE ON audit_events
BEGIN
  SELECT RAISE(ABORT, 'AUDIT_APPEND_ONLY: audit events cannot be changed');
END;
--> statement-breakpoint
CREATE TRIGGER audit_events_no_delete
BEFORE DELETE ON audit_events
BEGIN
  SELECT RAISE(ABORT, 'AUDIT_APPEND_ONLY: audit events cannot be deleted');
END;
--> statement-breakpoint
CREATE TRIGGER approvals_immutable
BEFORE UPDATE ON approvals
BEGIN
  SELECT RAISE(ABORT, 'VERSION_IMMUTABLE: approvals cannot be changed');
END;
