/**
 * Turns to hold a connection for a whole idempotent request (PostgreSQL: the request runs in the
 * transaction that stores its answer). Bounded below the pool's size, so requests holding a
 * transaction never take every connection: anything they ask of the pool besides their
 * transaction (an API key lookup, another route's query) still finds one. Unbounded, twelve
 * concurrent idempotent requests on a pool of ten waited on each other until PostgreSQL's idle
 * transaction timeout (60 s), and every tenant's requests with them.
 *
 * One project holds at most `perProject` turns while others wait, so one tenant's slow or
 * numerous idempotent requests cannot keep the others' waiting.
 */
export class TransactionTurns {
  private running = 0;
  private readonly byProject = new Map<string, number>();
  private readonly waiting: { projectId: string; grant: () => void }[] = [];

  constructor(
    private readonly options: {
      /** Turns in all. */
      turns: number;
      /** Turns one project may hold. */
      perProject: number;
      /** Requests that may wait for a turn; past this, `take` answers false at once. */
      maxWaiting: number;
      /** How long a request waits for a turn before `take` answers false. */
      waitMs: number;
    },
  ) {}

  /** Waits for a turn: true with the turn (give it back with `give`), false when none came in time. */
  take(projectId: string): Promise<boolean> {
    // Whoever waits cannot run now (`give` starts every waiter that can): a waiter's own project is
    // at its share, or every turn is taken, and then this request cannot run either.
    if (this.mayRun(projectId)) {
      this.start(projectId);
      return Promise.resolve(true);
    }
    if (this.waiting.length >= this.options.maxWaiting) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const waiter = {
        projectId,
        grant: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        resolve(false);
      }, this.options.waitMs);
      this.waiting.push(waiter);
    });
  }

  give(projectId: string): void {
    this.running -= 1;
    const held = (this.byProject.get(projectId) ?? 1) - 1;
    if (held > 0) this.byProject.set(projectId, held);
    else this.byProject.delete(projectId);
    // The first waiter whose project is under its share: a project at its share lets others pass.
    for (let i = 0; i < this.waiting.length && this.running < this.options.turns; ) {
      const waiter = this.waiting[i]!;
      if (!this.mayRun(waiter.projectId)) {
        i += 1;
        continue;
      }
      this.waiting.splice(i, 1);
      this.start(waiter.projectId);
      waiter.grant();
    }
  }

  private mayRun(projectId: string): boolean {
    return this.running < this.options.turns && (this.byProject.get(projectId) ?? 0) < this.options.perProject;
  }

  private start(projectId: string): void {
    this.running += 1;
    this.byProject.set(projectId, (this.byProject.get(projectId) ?? 0) + 1);
  }
}
