-- An index on the due time alone is redundant: the claim, its in-flight counts and the relay read
-- the queue by endpoint (deliveries_queued_endpoint_idx), and metrics and the queue window read every
-- queued row. Claims and outcomes are not HOT updates, so every index on deliveries is written at
-- every claim: one entry less per delivery queued and per delivery claimed.
DROP INDEX "deliveries_due_idx";
