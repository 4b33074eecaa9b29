-- The v0.1 API's `server` object of each version as the exact JSON text it serves (SQLite's
-- migration 0009): made once when the version is inserted, filled for older rows by the registry
-- as it opens the database, and part of the immutable record: set once (from null), never changed after.
ALTER TABLE "versions" ADD COLUMN "server_json" text;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION sigil_versions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.server, NEW.version, NEW.digest, NEW.tools_digest, NEW.manifest, NEW.bundle, NEW.provenance, NEW.signer_kind, NEW.signer_fingerprint, NEW.signer_identity, NEW.publisher, NEW.published_at)
     IS DISTINCT FROM (OLD.server, OLD.version, OLD.digest, OLD.tools_digest, OLD.manifest, OLD.bundle, OLD.provenance, OLD.signer_kind, OLD.signer_fingerprint, OLD.signer_identity, OLD.publisher, OLD.published_at)
     OR (OLD.server_json IS NOT NULL AND NEW.server_json IS DISTINCT FROM OLD.server_json) THEN
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
