-- Portal links and sessions name what they depend on (review, 2026-12-05): the API key that minted
-- a link (revoking it ends the link and the sessions it opened), the admin token an operator session
-- signed in with (as a tag: changing or unsetting the token ends it), and when a session was signed
-- out (`ended_at`, checked as set or not: no API process's clock decides it). Rows made before this
-- have none: their links open and their project sessions hold as before, for at most 4 hours; their
-- operator sessions end.
ALTER TABLE "portal_links" ADD COLUMN "api_key_id" text;--> statement-breakpoint
ALTER TABLE "portal_sessions" ADD COLUMN "api_key_id" text;--> statement-breakpoint
ALTER TABLE "portal_sessions" ADD COLUMN "operator_token_tag" text;--> statement-breakpoint
ALTER TABLE "portal_sessions" ADD COLUMN "ended_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "portal_links" ADD CONSTRAINT "portal_links_api_key_id_api_keys_id_fk" FOREIGN KEY ("api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "portal_sessions" ADD CONSTRAINT "portal_sessions_api_key_id_api_keys_id_fk" FOREIGN KEY ("api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE cascade ON UPDATE no action;