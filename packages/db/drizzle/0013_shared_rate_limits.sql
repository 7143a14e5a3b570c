CREATE UNLOGGED TABLE "rate_limit_counts" (
	"bucket" text NOT NULL,
	"window_start" bigint NOT NULL,
	"count" integer DEFAULT 0 NOT NULL,
	"last_grant" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "rate_limit_counts_bucket_window_start_pk" PRIMARY KEY("bucket","window_start")
);
