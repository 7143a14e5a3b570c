ALTER TABLE "endpoints" ADD COLUMN "max_in_flight" integer;--> statement-breakpoint
ALTER TABLE "endpoints" ADD COLUMN "latency_ms" real;--> statement-breakpoint
ALTER TABLE "endpoints" ADD COLUMN "timeouts_in_row" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "deliveries_queued_endpoint_idx" ON "deliveries" USING btree ("endpoint_id","next_attempt_at") WHERE "deliveries"."status" in ('pending', 'in_flight');