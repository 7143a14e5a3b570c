/**
 * This dispatcher's send slots, and the claimed deliveries waiting for one.
 *
 * A claim costs about the same for 8 rows as for 48 (its fixed part is the fair choice of
 * endpoints and projects), and it lasts longer than a fast receiver takes to answer. Claiming only
 * for free slots meant each claim found the slots it was issued for already answered, and took
 * the ~24 that were free when it started (bench figure 1, 2026-12-05: 23 rows per claim, one
 * claim running 85 % of the time). So claims also take up to `prefetch` deliveries beyond the free
 * slots; those wait here, in claim order, and take the next slot that frees.
 *
 * Fairness holds at both steps: a claim counts what a project holds here (sending and waiting)
 * against its caps scaled to slots plus prefetch (`claimCaps`), and a waiting delivery starts only
 * while its project sends on fewer than its share of the slots, or all but an eighth of them while
 * no other project has a delivery waiting here (one only sending needs no slot). That eighth stays
 * for newcomers whatever the number of busy projects: beyond its first `newcomerQuota` deliveries, a
 * project starts (and claims) only while more than the eighth is free (claims: `beyondRoom`). A delivery
 * waiting longer than `maxWaitMs` is dropped unsent: its lease would run out mid-request, so it is
 * left to come due again (as after a crash), never sent twice. One added with `front` (an endpoint
 * with a rate limit: its tokens were spent by the claim) goes ahead of those waiting, so its
 * sends follow its claim as closely as slots allow.
 */
export interface SendSlotsOptions {
  concurrency: number;
  prefetch: number;
  /** Slots one project may send on while another project holds deliveries here. */
  projectShare: number;
  /** Slots one project may send on while it is the only one here. */
  projectSolo: number;
  maxWaitMs: number;
}

export class SendSlots<T extends { projectId: string }> {
  /** Deliveries claimed and not answered yet (sending or waiting), by project: what claims count. */
  readonly held = new Map<string, number>();
  private readonly sendingBy = new Map<string, number>();
  private readonly waitingBy = new Map<string, number>();
  private waiting: Array<{ item: T; at: number; front: boolean }> = [];
  private sendingCount = 0;

  constructor(
    private readonly options: SendSlotsOptions,
    private readonly start: (item: T) => void,
    private readonly expire: (item: T) => void,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.newcomerReserve = Math.max(0, options.concurrency - options.projectSolo);
    this.newcomerQuota = newcomerQuotaOf(this.newcomerReserve);
  }

  get sending(): number {
    return this.sendingCount;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /**
   * Deliveries a claim may take now: the free slots plus the room left for waiting ones. Always the
   * whole prefetch: the claims' project caps are scaled to it, and what one project cannot take of
   * it is a newcomer's room.
   */
  claimable(): number {
    return Math.max(0, this.options.concurrency + this.options.prefetch - this.sendingCount - this.waiting.length);
  }

  /**
   * Slots a delivery added at the `front` finds now: what a claim may take for deliveries that
   * should not wait (an endpoint's rate-limit tokens). Deliveries waiting behind their project's
   * cap do not count: a front one goes ahead of them. Counted, a busy project's prefetch, held back
   * by its own share, left 0 here, and another project's rate-limited endpoint got 2 of its 5
   * deliveries a second.
   */
  freeAhead(): number {
    let ahead = 0;
    for (const w of this.waiting) if (w.front) ahead += 1;
    return Math.max(0, this.options.concurrency - this.sendingCount - ahead);
  }

  /** A claimed delivery: started at once if a slot and its project's share allow, else it waits. */
  add(item: T, { front = false } = {}): void {
    bump(this.held, item.projectId, 1);
    bump(this.waitingBy, item.projectId, 1);
    const entry = { item, at: this.now(), front };
    if (front) this.waiting.unshift(entry);
    else this.waiting.push(entry);
    this.pump();
  }

  /** The receiver answered `item` (or sending it failed): its slot goes to the next that may take it. */
  answered(item: T): void {
    this.sendingCount -= 1;
    bump(this.sendingBy, item.projectId, -1);
    bump(this.held, item.projectId, -1);
    this.pump();
  }

  /** Stops: every waiting delivery is dropped unsent (the caller gives their leases back). */
  clear(): T[] {
    const dropped = this.waiting.map((w) => w.item);
    this.waiting = [];
    for (const item of dropped) {
      bump(this.held, item.projectId, -1);
      bump(this.waitingBy, item.projectId, -1);
    }
    return dropped;
  }

  /**
   * Slots only a newcomer may take: a project sending on fewer than `newcomerQuota` (one that just
   * came, or a quiet one). Others start beyond their quota only while more than this many slots are
   * free, so however many projects hang their endpoints, the last slots stay for the others: with a
   * cap per project alone, two noisy projects at half the slots each held every one.
   */
  private readonly newcomerReserve: number;
  private readonly newcomerQuota: number;

  /** A project's share while another project has a delivery waiting for a slot, else all but the newcomers' eighth. */
  private capOf(project: string): number {
    const othersWaiting = this.waitingBy.size > (this.waitingBy.has(project) ? 1 : 0);
    return othersWaiting ? this.options.projectShare : this.options.projectSolo;
  }

  private pump(): void {
    if (this.waiting.length === 0) return;
    const now = this.now();
    const kept: Array<{ item: T; at: number; front: boolean }> = [];
    for (const w of this.waiting) {
      const project = w.item.projectId;
      if (now - w.at > this.options.maxWaitMs) {
        bump(this.held, project, -1);
        bump(this.waitingBy, project, -1);
        this.expire(w.item);
      } else if (
        this.sendingCount < this.options.concurrency &&
        (this.sendingBy.get(project) ?? 0) < this.capOf(project) &&
        ((this.sendingBy.get(project) ?? 0) < this.newcomerQuota ||
          this.options.concurrency - this.sendingCount > this.newcomerReserve)
      ) {
        this.sendingCount += 1;
        bump(this.sendingBy, project, 1);
        bump(this.waitingBy, project, -1);
        this.start(w.item);
      } else kept.push(w);
    }
    this.waiting = kept;
  }
}

/** Deliveries a project holding fewer may take from the newcomers' reserve: half of it, so two newcomers fit. */
export function newcomerQuotaOf(reserve: number): number {
  return Math.max(1, Math.floor(reserve / 2));
}

function bump(counts: Map<string, number>, key: string, by: number): void {
  const n = (counts.get(key) ?? 0) + by;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}

/**
 * A project's caps over `concurrency` slots plus `prefetch` room: for sending (no prefetch), and
 * for claims, which count what a project holds here. Alone, a project may use all but an eighth
 * of the slots, so a newcomer always finds some free (a quarter held back cost a lone project ~5 %
 * of dispatch throughput; an eighth keeps the noisy-neighbour p99 at tens of ms).
 */
export function claimCaps(concurrency: number, prefetch: number, sharePercent: number) {
  const claimSlots = concurrency + prefetch;
  return {
    projectShare: Math.max(1, Math.ceil((claimSlots * sharePercent) / 100)),
    projectSolo: Math.max(1, claimSlots - Math.ceil(concurrency / 8)),
  };
}
