-- An event's deliveries by the event id alone: B-tree deduplication keeps one entry per event, so the index
-- is a fraction of (event_id, endpoint_id) on history (an eighth at a fan-out of ten).
DROP INDEX "deliveries_event_endpoint_idx";--> statement-breakpoint
CREATE INDEX "deliveries_event_idx" ON "deliveries" USING btree ("event_id");