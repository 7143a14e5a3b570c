CREATE TABLE "user_past_emails" (
	"project_id" text NOT NULL,
	"user_id" text NOT NULL,
	"email" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "user_past_emails_project_id_user_id_email_pk" PRIMARY KEY("project_id","user_id","email")
);
--> statement-breakpoint
ALTER TABLE "user_past_emails" ADD CONSTRAINT "user_past_emails_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;