CREATE TABLE "delivery_queue_window" (
	"id" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"floor_at" timestamp with time zone,
	"open_ended" boolean DEFAULT true NOT NULL,
	"refreshed_at" timestamp with time zone,
	CONSTRAINT "delivery_queue_window_one_row" CHECK ("delivery_queue_window"."id" = 1)
);
--> statement-breakpoint
-- The one row: no floor and open-ended (claims see every partition) until a dispatcher first refreshes it.
INSERT INTO "delivery_queue_window" ("id") VALUES (1) ON CONFLICT DO NOTHING;
