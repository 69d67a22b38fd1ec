/**
 * Group commit for append-only rows (audit records, open sessions): callers await their own row; rows that
 * arrive while writes are in flight (or in the same turn of the event loop) go out together in one multi-row
 * INSERT. Keeps "written before the response is sent" while cutting database round trips under load.
 * `maxInFlight` > 1 lets several batches wait for the disk at once (PostgreSQL commits them together).
 */
export class GroupWriter<T> {
  private readonly write: (items: T[]) => Promise<void>
  private readonly maxBatch: number
  private readonly maxInFlight: number
  private pending: { item: T; resolve: () => void; reject: (e: unknown) => void }[] = []
  private inFlight = 0
  private scheduled = false

  constructor(write: (items: T[]) => Promise<void>, opts: { maxBatch?: number; maxInFlight?: number } = {}) {
    this.write = write
    this.maxBatch = opts.maxBatch ?? 200
    this.maxInFlight = opts.maxInFlight ?? 1
  }

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ item, resolve, reject })
      this.schedule()
    })
  }

  private schedule() {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.pending.length === 0) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      while (this.inFlight < this.maxInFlight && this.pending.length) void this.flush(this.pending.splice(0, this.maxBatch))
    })
  }

  private async flush(batch: { item: T; resolve: () => void; reject: (e: unknown) => void }[]) {
    this.inFlight++
    try {
      await this.write(batch.map((b) => b.item))
      for (const b of batch) b.resolve()
    } catch (err) {
      for (const b of batch) b.reject(err)
    } finally {
      this.inFlight--
      this.schedule()
    }
  }
}
