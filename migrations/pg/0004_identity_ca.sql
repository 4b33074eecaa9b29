ALTER TABLE "allowlist_builders" ADD COLUMN "ca" text;--> statement-breakpoint
ALTER TABLE "allowlist_signers" ADD COLUMN "ca" text;--> statement-breakpoint
ALTER TABLE "reviewers" ADD COLUMN "ca" text;