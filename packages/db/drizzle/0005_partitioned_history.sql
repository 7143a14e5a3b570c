-- Hand-written: drizzle-kit does not do partitioning. events, deliveries and delivery_attempts
-- become tables partitioned by RANGE on their id (ids start with their creation time, so a
-- day of ids is a range of strings): one partition per UTC day, named <table>_pYYYYMMDD, one
-- <table>_legacy for everything written before this migration, and a <table>_default that
-- catches ids outside every created range so an insert never fails. Herald's maintenance
-- (@herald/delivery maintenance.ts) creates days ahead and drops whole days past retention.
-- Every row is copied. Events gain payload_expired_at (payload retention clears data to {}).
ALTER TABLE "delivery_attempts" DROP CONSTRAINT "delivery_attempts_delivery_id_deliveries_id_fk";--> statement-breakpoint
ALTER TABLE "deliveries" DROP CONSTRAINT "deliveries_event_id_events_id_fk";--> statement-breakpoint
ALTER TABLE "events" RENAME TO "events_unpartitioned";--> statement-breakpoint
ALTER TABLE "events_unpartitioned" RENAME CONSTRAINT "events_pkey" TO "events_unpartitioned_pkey";--> statement-breakpoint
DROP INDEX "events_project_txid_id_idx";--> statement-breakpoint
DROP INDEX "events_project_type_txid_id_idx";--> statement-breakpoint
DROP INDEX "events_project_subject_idx";--> statement-breakpoint
ALTER TABLE "deliveries" RENAME TO "deliveries_unpartitioned";--> statement-breakpoint
ALTER TABLE "deliveries_unpartitioned" RENAME CONSTRAINT "deliveries_pkey" TO "deliveries_unpartitioned_pkey";--> statement-breakpoint
DROP INDEX "deliveries_due_idx";--> statement-breakpoint
DROP INDEX "deliveries_endpoint_idx";--> statement-breakpoint
DROP INDEX "deliveries_queued_endpoint_idx";--> statement-breakpoint
DROP INDEX "deliveries_event_endpoint_idx";--> statement-breakpoint
DROP INDEX "deliveries_queued_subject_idx";--> statement-breakpoint
ALTER TABLE "delivery_attempts" RENAME TO "delivery_attempts_unpartitioned";--> statement-breakpoint
ALTER TABLE "delivery_attempts_unpartitioned" RENAME CONSTRAINT "delivery_attempts_pkey" TO "delivery_attempts_unpartitioned_pkey";--> statement-breakpoint
DROP INDEX "delivery_attempts_delivery_idx";--> statement-breakpoint
CREATE TABLE "events" (
	"id" text NOT NULL,
	"project_id" text NOT NULL,
	"type" text NOT NULL,
	"version" integer NOT NULL,
	"data" jsonb NOT NULL,
	"subject" text,
	"sequence" bigint,
	"txid" bigint DEFAULT pg_current_xact_id()::text::bigint NOT NULL,
	"is_test" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"payload_expired_at" timestamp with time zone,
	CONSTRAINT "events_pkey" PRIMARY KEY ("id")
) PARTITION BY RANGE ("id");--> statement-breakpoint
CREATE TABLE "deliveries" (
	"id" text NOT NULL,
	"project_id" text NOT NULL,
	"endpoint_id" text NOT NULL,
	"event_id" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempt_count" integer DEFAULT 0 NOT NULL,
	"schedule_offset" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"lease_owner" text,
	"subject" text,
	"sequence" bigint,
	"last_status_code" integer,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone,
	CONSTRAINT "deliveries_pkey" PRIMARY KEY ("id")
) PARTITION BY RANGE ("id");--> statement-breakpoint
CREATE TABLE "delivery_attempts" (
	"id" text NOT NULL,
	"delivery_id" text NOT NULL,
	"attempt_number" integer NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"duration_ms" integer NOT NULL,
	"status_code" integer,
	"error_class" text,
	"error_message" text,
	"response_body" text,
	CONSTRAINT "delivery_attempts_pkey" PRIMARY KEY ("id")
) PARTITION BY RANGE ("id");--> statement-breakpoint
-- The 10 Crockford base32 characters of an id's millisecond time (packages/db/src/ids.ts).
CREATE FUNCTION pg_temp.herald_id_time(at timestamptz) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	ms bigint := floor(extract(epoch from at) * 1000);
	encoded text := '';
BEGIN
	FOR i IN 1..10 LOOP
		encoded := substr('0123456789abcdefghjkmnpqrstvwxyz', (ms % 32)::int + 1, 1) || encoded;
		ms := ms / 32;
	END LOOP;
	RETURN encoded;
END $$;--> statement-breakpoint
DO $$
DECLARE
	today date := (now() AT TIME ZONE 'utc')::date;
	t record;
	d date;
BEGIN
	FOR t IN SELECT * FROM (VALUES ('events', 'evt'), ('deliveries', 'dlv'), ('delivery_attempts', 'att')) AS v(name, prefix) LOOP
		EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (MINVALUE) TO (%L)',
			t.name || '_legacy', t.name, t.prefix || '_' || pg_temp.herald_id_time(today::timestamp AT TIME ZONE 'utc'));
		FOR i IN 0..2 LOOP
			d := today + i;
			EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
				t.name || '_p' || to_char(d, 'YYYYMMDD'), t.name,
				t.prefix || '_' || pg_temp.herald_id_time(d::timestamp AT TIME ZONE 'utc'),
				t.prefix || '_' || pg_temp.herald_id_time((d + 1)::timestamp AT TIME ZONE 'utc'));
		END LOOP;
		EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', t.name || '_default', t.name);
	END LOOP;
END $$;--> statement-breakpoint
INSERT INTO "events" ("id", "project_id", "type", "version", "data", "subject", "sequence", "txid", "is_test", "created_at")
	SELECT "id", "project_id", "type", "version", "data", "subject", "sequence", "txid", "is_test", "created_at" FROM "events_unpartitioned";--> statement-breakpoint
INSERT INTO "deliveries" ("id", "project_id", "endpoint_id", "event_id", "status", "attempt_count", "schedule_offset", "next_attempt_at", "lease_owner", "subject", "sequence", "last_status_code", "last_error", "created_at", "updated_at", "completed_at")
	SELECT "id", "project_id", "endpoint_id", "event_id", "status", "attempt_count", "schedule_offset", "next_attempt_at", "lease_owner", "subject", "sequence", "last_status_code", "last_error", "created_at", "updated_at", "completed_at" FROM "deliveries_unpartitioned";--> statement-breakpoint
INSERT INTO "delivery_attempts" ("id", "delivery_id", "attempt_number", "started_at", "duration_ms", "status_code", "error_class", "error_message", "response_body")
	SELECT "id", "delivery_id", "attempt_number", "started_at", "duration_ms", "status_code", "error_class", "error_message", "response_body" FROM "delivery_attempts_unpartitioned";--> statement-breakpoint
DROP TABLE "delivery_attempts_unpartitioned";--> statement-breakpoint
DROP TABLE "deliveries_unpartitioned";--> statement-breakpoint
DROP TABLE "events_unpartitioned";--> statement-breakpoint
CREATE INDEX "events_project_txid_id_idx" ON "events" USING btree ("project_id","txid","id");--> statement-breakpoint
CREATE INDEX "events_project_type_txid_id_idx" ON "events" USING btree ("project_id","type","txid","id");--> statement-breakpoint
CREATE INDEX "events_project_subject_idx" ON "events" USING btree ("project_id","subject");--> statement-breakpoint
CREATE INDEX "deliveries_due_idx" ON "deliveries" USING btree ("next_attempt_at") WHERE "deliveries"."status" in ('pending', 'in_flight');--> statement-breakpoint
CREATE INDEX "deliveries_endpoint_idx" ON "deliveries" USING btree ("endpoint_id","status","id");--> statement-breakpoint
CREATE INDEX "deliveries_queued_endpoint_idx" ON "deliveries" USING btree ("endpoint_id","next_attempt_at") WHERE "deliveries"."status" in ('pending', 'in_flight');--> statement-breakpoint
CREATE INDEX "deliveries_event_endpoint_idx" ON "deliveries" USING btree ("event_id","endpoint_id");--> statement-breakpoint
CREATE INDEX "deliveries_queued_subject_idx" ON "deliveries" USING btree ("endpoint_id","subject","sequence") WHERE "deliveries"."status" in ('pending', 'in_flight') and "deliveries"."subject" is not null;--> statement-breakpoint
CREATE INDEX "delivery_attempts_delivery_idx" ON "delivery_attempts" USING btree ("delivery_id","attempt_number");--> statement-breakpoint
ALTER TABLE "events" ADD CONSTRAINT "events_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_endpoint_id_endpoints_id_fk" FOREIGN KEY ("endpoint_id") REFERENCES "public"."endpoints"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_event_id_events_id_fk" FOREIGN KEY ("event_id") REFERENCES "public"."events"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "delivery_attempts" ADD CONSTRAINT "delivery_attempts_delivery_id_deliveries_id_fk" FOREIGN KEY ("delivery_id") REFERENCES "public"."deliveries"("id") ON DELETE cascade ON UPDATE no action;
