DROP INDEX "events_project_subject_idx";--> statement-breakpoint
CREATE INDEX "events_project_subject_id_idx" ON "events" USING btree ("project_id","subject","id");--> statement-breakpoint
CREATE INDEX "events_failed_login_email_idx" ON "events" USING btree ("project_id",lower("data" ->> 'email'),"id") WHERE "events"."subject" is null and "events"."type" = 'user.login.failed';