/**
 * The consumer's own tables. It never touches the platform's database: this is
 * what a customer's backend would keep on its side of the webhook.
 * `create … if not exists` keeps start-up idempotent on an existing data dir.
 */
export const consumerSchemaSql = `
create table if not exists inbox (
  webhook_id      text primary key,
  type            text not null,
  body            text not null,
  received_at     timestamptz not null default now(),
  processed_at    timestamptz,
  -- set when the worker gives up after its last attempt
  failed_at       timestamptz,
  attempts        integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_error      text
);
-- added with per-subject order: the subject (a user's id) the job is filed under, and the
-- order of arrival (received_at can repeat). A data dir from before gains them on start;
-- openConsumerStore then files its rows (see upgradeInbox).
alter table inbox add column if not exists subject text;
alter table inbox add column if not exists arrival bigserial;
create index if not exists inbox_pending_by_subject on inbox (subject, arrival)
  where processed_at is null and failed_at is null;
-- added so that choosing the next job reads no job held back: true while an earlier job of the
-- same subject is unfinished (only a subject's first unfinished job is ever false). Set when the
-- job arrives, cleared for the next one when its subject's first finishes (inbox-store.ts); a
-- data dir from before gains it on start and openConsumerStore sets it (see holdBackFollowers).
alter table inbox add column if not exists waiting boolean not null default false;
create index if not exists inbox_ready on inbox (next_attempt_at, arrival)
  where processed_at is null and failed_at is null and not waiting;
drop index if exists inbox_due;

-- Subjects whose user.deleted was applied: their jobs are not applied any more, and a job
-- of theirs that finishes keeps no body. Only the id is kept, as in applied_sequences.
create table if not exists erased_subjects (
  subject     text primary key,
  erased_at   timestamptz not null default now()
);

create table if not exists timeline (
  id          bigserial primary key,
  at          timestamptz not null default now(),
  kind        text not null,
  event_type  text,
  webhook_id  text,
  summary     text not null,
  ok          boolean not null default true,
  detail      jsonb
);
-- added with event sequences: a data dir from before gains the columns on start
alter table timeline add column if not exists subject text;
alter table timeline add column if not exists sequence integer;

create table if not exists login_failures (
  webhook_id  text primary key,
  user_id     text not null,
  failed_at   timestamptz not null
);
create index if not exists login_failures_by_user on login_failures (user_id, failed_at);

create table if not exists local_users (
  user_id     text primary key,
  email       text not null,
  roles       jsonb not null,
  status      text not null,
  -- the platform's updatedAt: an older snapshot never overwrites a newer one
  updated_at  timestamptz not null,
  synced_at   timestamptz not null default now()
);

-- The last sequence applied per subject (a user's id). Kept when the user is
-- removed: it is what stops a late user.updated from bringing the user back.
create table if not exists applied_sequences (
  subject     text primary key,
  sequence    integer not null,
  applied_at  timestamptz not null default now()
);

create table if not exists security_notices (
  webhook_id  text primary key,
  user_id     text not null,
  email       text,
  message     text not null,
  created_at  timestamptz not null default now()
);
`;
