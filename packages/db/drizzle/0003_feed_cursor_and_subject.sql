DROP INDEX "events_project_id_idx";--> statement-breakpoint
DROP INDEX "events_project_type_id_idx";--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "subject" text;--> statement-breakpoint
-- Events written before this migration get txid 0: in the feed they keep their id order and come
-- before every later event. (A constant default needs no table rewrite; new rows then get their
-- writing transaction's id.)
ALTER TABLE "events" ADD COLUMN "txid" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "events" ALTER COLUMN "txid" SET DEFAULT pg_current_xact_id()::text::bigint;--> statement-breakpoint
-- The subject of every existing event, as subjectOf() in @herald/events names it.
UPDATE "events" SET "subject" = CASE
  WHEN "type" IN ('user.created', 'user.updated', 'user.deleted') THEN "data" -> 'user' ->> 'id'
  WHEN "type" IN ('user.password.changed', 'user.login.succeeded', 'user.login.failed') THEN "data" ->> 'userId'
  WHEN "type" = 'endpoint.disabled' THEN "data" ->> 'endpointId'
END;--> statement-breakpoint
-- Users deleted before this migration: erase their personal data from their events, as
-- erasedEventData() does for users deleted from now on.
UPDATE "events" AS e SET "data" = CASE
  WHEN e."type" IN ('user.created', 'user.updated', 'user.deleted') THEN
    jsonb_set(jsonb_set(jsonb_set(e."data", '{user,email}', '"erased@erased.invalid"'), '{user,name}', 'null'), '{user,metadata}', '{}')
  ELSE e."data" || '{"email": "erased@erased.invalid", "ipAddress": null, "userAgent": null}'::jsonb
END
WHERE e."type" IN ('user.created', 'user.updated', 'user.deleted', 'user.login.succeeded', 'user.login.failed')
  AND e."subject" IN (SELECT d."subject" FROM "events" AS d WHERE d."type" = 'user.deleted' AND d."project_id" = e."project_id");--> statement-breakpoint
CREATE INDEX "events_project_txid_id_idx" ON "events" USING btree ("project_id","txid","id");--> statement-breakpoint
CREATE INDEX "events_project_type_txid_id_idx" ON "events" USING btree ("project_id","type","txid","id");--> statement-breakpoint
CREATE INDEX "events_project_subject_idx" ON "events" USING btree ("project_id","subject");
