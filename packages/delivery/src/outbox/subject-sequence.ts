import type { Queryable } from '@herald/db';
import { executeRows } from '@herald/db';
import { sql } from 'drizzle-orm';

/**
 * The next sequence number of a subject (1 for its first event). Call it in
 * the transaction that records the event: the subject's counter row stays
 * locked until that transaction ends, so a second writer of the same subject
 * waits for the first to commit (or roll back) and then gets the next
 * number. Sequences therefore follow commit order across API processes,
 * whatever their clocks, and a rolled-back writer leaves no gap.
 */
export async function nextSubjectSequence(tx: Queryable, projectId: string, subject: string): Promise<number> {
  const [row] = await executeRows<{ last_sequence: number | string }>(
    tx,
    sql`insert into subject_sequences (project_id, subject, last_sequence)
        values (${projectId}, ${subject}, 1)
        on conflict (project_id, subject)
        do update set last_sequence = subject_sequences.last_sequence + 1
        returning last_sequence`,
  );
  return Number(row!.last_sequence);
}
