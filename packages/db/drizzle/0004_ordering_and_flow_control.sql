CREATE TABLE "subject_sequences" (
	"project_id" text NOT NULL,
	"subject" text NOT NULL,
	"last_sequence" bigint NOT NULL,
	CONSTRAINT "subject_sequences_project_id_subject_pk" PRIMARY KEY("project_id","subject")
);
--> statement-breakpoint
DROP INDEX "deliveries_event_idx";--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "sequence" bigint;--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "subject" text;--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "sequence" bigint;--> statement-breakpoint
ALTER TABLE "endpoints" ADD COLUMN "ordering" text DEFAULT 'none' NOT NULL;--> statement-breakpoint
ALTER TABLE "endpoints" ADD COLUMN "rate_limit" integer;--> statement-breakpoint
ALTER TABLE "endpoints" ADD COLUMN "rate_tokens" double precision;--> statement-breakpoint
ALTER TABLE "endpoints" ADD COLUMN "rate_refilled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "subject_sequences" ADD CONSTRAINT "subject_sequences_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "deliveries_event_endpoint_idx" ON "deliveries" USING btree ("event_id","endpoint_id");--> statement-breakpoint
CREATE INDEX "deliveries_queued_subject_idx" ON "deliveries" USING btree ("endpoint_id","subject","sequence") WHERE "deliveries"."status" in ('pending', 'in_flight') and "deliveries"."subject" is not null;