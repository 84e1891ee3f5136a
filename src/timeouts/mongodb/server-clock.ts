/**
 * The database server's clock, as the MongoDB timeout store uses it for due checks and leases.
 *
 * Read from `hello`'s `localTime` (answered by MongoDB 6/7 and FerretDB alike, no storage I/O), then
 * carried forward on this process's monotonic clock (`performance.now()`), so neither the worker's
 * wall-clock offset nor a jump of it (an NTP step) matters. Each measurement takes the sample with
 * the shortest round trip of three and keeps the lower bound: the server read its clock at some
 * point of the round trip, so `localTime + time since the reply` is never later than the server's
 * time. Due checks therefore never fire early by the server's clock, and a lease is never taken
 * before it ended by the server's clock. Measured again every `refreshMs` (server clock steps and
 * the two clocks' drift, a few ppm, are caught within that).
 *
 * Why not the server computing `now` itself: FerretDB 1.24 has no update pipelines, no `$expr`
 * comparisons and returns `$$NOW` as a literal string; a `$currentDate` write then read costs a
 * write per claim. (Checked on the running FerretDB; see docs/production.md.)
 * @internal
 */
import { performance } from 'node:perf_hooks';

/** How often the server's time is measured again. */
const REFRESH_MS = 30_000;

export class ServerClock {
  private base?: { server: number; local: number };
  private measuring?: Promise<void>;

  /** @param readServerTime one read of the server's clock (e.g. `hello`'s `localTime`) */
  constructor(
    private readonly readServerTime: () => Promise<Date>,
    private readonly refreshMs = REFRESH_MS,
  ) {}

  /** The server's time now, at the latest (a lower bound within one round trip). */
  async now(): Promise<Date> {
    if (!this.base || performance.now() - this.base.local > this.refreshMs) {
      this.measuring ??= this.measure().finally(() => (this.measuring = undefined));
      await this.measuring;
    }
    const base = this.base as { server: number; local: number };
    return new Date(base.server + (performance.now() - base.local));
  }

  private async measure(): Promise<void> {
    let best: { server: number; local: number; rtt: number } | undefined;
    for (let i = 0; i < 3; i++) {
      const sent = performance.now();
      const server = await this.readServerTime();
      const local = performance.now();
      if (!(server instanceof Date) || Number.isNaN(server.getTime())) {
        throw new Error(`the server did not report its time (hello.localTime is ${String(server)})`);
      }
      if (!best || local - sent < best.rtt) best = { server: server.getTime(), local, rtt: local - sent };
    }
    this.base = best;
  }
}
