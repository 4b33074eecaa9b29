ALTER TABLE `allowlist_builders` ADD `ca` text;--> statement-breakpoint
ALTER TABLE `allowlist_signers` ADD `ca` text;--> statement-breakpoint
ALTER TABLE `reviewers` ADD `ca` text;