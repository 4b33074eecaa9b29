CREATE TABLE `registry_keys` (
	`use` text PRIMARY KEY NOT NULL,
	`fingerprint` text NOT NULL,
	`public_key` text NOT NULL,
	`recorded_at` text NOT NULL,
	`replaces` text
);
