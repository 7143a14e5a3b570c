/** True for PostgreSQL's unique_violation (23505), whichever driver raised it. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  for (let e: unknown = error; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const { code, constraint_name, constraint: pgliteConstraint } = e as Record<string, unknown>;
    if (code === '23505') {
      return !constraint || constraint_name === constraint || pgliteConstraint === constraint;
    }
  }
  return false;
}
