-- Retention detaches and drops a day of history without checks: nothing points across the history tables any more
-- (an event's deliveries and their attempts share its day; see the deliveries schema). Catalog-only, instant.
-- Payload retention reads only the events that still hold a payload (events_payload_kept_idx).
ALTER TABLE "deliveries" DROP CONSTRAINT "deliveries_event_id_events_id_fk";
--> statement-breakpoint
ALTER TABLE "delivery_attempts" DROP CONSTRAINT "delivery_attempts_delivery_id_deliveries_id_fk";
--> statement-breakpoint
CREATE INDEX "events_payload_kept_idx" ON "events" USING btree ("id") WHERE "events"."payload_expired_at" is null;