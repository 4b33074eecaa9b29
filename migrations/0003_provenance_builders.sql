CREATE TABLE `allowlist_builders` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`pattern` text NOT NULL,
	`builder_id` text NOT NULL,
	`kind` text NOT NULL,
	`value` text NOT NULL,
	`fingerprint` text NOT NULL,
	FOREIGN KEY (`pattern`) REFERENCES `allowlist`(`pattern`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `allowlist_builders_pattern_builder_fingerprint_idx` ON `allowlist_builders` (`pattern`,`builder_id`,`fingerprint`);