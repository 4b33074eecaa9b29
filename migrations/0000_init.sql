CREATE TABLE `allowlist` (
	`pattern` text PRIMARY KEY NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `allowlist_signers` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`pattern` text NOT NULL,
	`kind` text NOT NULL,
	`value` text NOT NULL,
	`fingerprint` text NOT NULL,
	FOREIGN KEY (`pattern`) REFERENCES `allowlist`(`pattern`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `allowlist_signers_pattern_fingerprint_idx` ON `allowlist_signers` (`pattern`,`fingerprint`);--> statement-breakpoint
CREATE TABLE `approvals` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`version_id` integer NOT NULL,
	`reviewer` text NOT NULL,
	`digest` text NOT NULL,
	`bundle` text NOT NULL,
	`signer_fingerprint` text NOT NULL,
	`created_at` text NOT NULL,
	FOREIGN KEY (`version_id`) REFERENCES `versions`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `approvals_digest_idx` ON `approvals` (`digest`);--> statement-breakpoint
CREATE UNIQUE INDEX `approvals_version_reviewer_idx` ON `approvals` (`version_id`,`reviewer`);--> statement-breakpoint
CREATE TABLE `audit_events` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` text NOT NULL,
	`actor` text NOT NULL,
	`action` text NOT NULL,
	`subject` text NOT NULL,
	`details` text NOT NULL,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `certificate_authorities` (
	`fingerprint` text PRIMARY KEY NOT NULL,
	`chain_pem` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `principals` (
	`name` text PRIMARY KEY NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `reviewers` (
	`principal` text NOT NULL,
	`kind` text NOT NULL,
	`value` text NOT NULL,
	`fingerprint` text NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`principal`, `fingerprint`)
);
--> statement-breakpoint
CREATE INDEX `reviewers_fingerprint_idx` ON `reviewers` (`fingerprint`);--> statement-breakpoint
CREATE TABLE `servers` (
	`name` text PRIMARY KEY NOT NULL,
	`namespace` text NOT NULL,
	`owner` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `servers_namespace_idx` ON `servers` (`namespace`);--> statement-breakpoint
CREATE TABLE `tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`principal` text NOT NULL,
	`secret_hash` text NOT NULL,
	`role` text NOT NULL,
	`namespaces` text DEFAULT '[]' NOT NULL,
	`created_at` text NOT NULL,
	`created_by` text,
	`expires_at` text NOT NULL,
	`revoked_at` text,
	FOREIGN KEY (`principal`) REFERENCES `principals`(`name`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tokens_secret_hash_idx` ON `tokens` (`secret_hash`);--> statement-breakpoint
CREATE INDEX `tokens_principal_idx` ON `tokens` (`principal`);--> statement-breakpoint
CREATE TABLE `tombstones` (
	`server` text NOT NULL,
	`version` text NOT NULL,
	`digest` text NOT NULL,
	`deleted_at` text NOT NULL,
	PRIMARY KEY(`server`, `version`)
);
--> statement-breakpoint
CREATE TABLE `versions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`server` text NOT NULL,
	`version` text NOT NULL,
	`digest` text NOT NULL,
	`tools_digest` text NOT NULL,
	`manifest` text NOT NULL,
	`bundle` text NOT NULL,
	`provenance` text,
	`signer_kind` text NOT NULL,
	`signer_fingerprint` text NOT NULL,
	`signer_identity` text,
	`publisher` text NOT NULL,
	`status` text NOT NULL,
	`risk` text NOT NULL,
	`findings` text DEFAULT '[]' NOT NULL,
	`published_at` text NOT NULL,
	`rejection_reason` text,
	`rejected_by` text,
	`rejected_at` text,
	`revocation_reason` text,
	`revoked_by` text,
	`revoked_at` text,
	FOREIGN KEY (`server`) REFERENCES `servers`(`name`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `versions_server_version_idx` ON `versions` (`server`,`version`);--> statement-breakpoint
CREATE INDEX `versions_status_idx` ON `versions` (`status`);