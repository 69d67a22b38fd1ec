/**
 * Group commit for append-only rows (audit records, open sessions): callers await their own row, rows that
 * arrive while a write is in flight (or in the same turn of the event loop) go out together in one multi-row
 * INSERT. Keeps "written before the response is sent" while cutting database round trips under load.
 */
export class GroupWriter<T> {
  private readonly write: (items: T[]) => Promise<void>
  private readonly maxBatch: number
  private pending: { item: T; resolve: () => void; reject: (e: unknown) => void }[] = []
  private running = false

  constructor(write: (items: T[]) => Promise<void>, maxBatch = 200) {
    this.write = write
    this.maxBatch = maxBatch
  }

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ item, resolve, reject })
      if (!this.running) {
        this.running = true
        setImmediate(() => void this.drain())
      }
    })
  }

  private async drain() {
    while (this.pending.length) {
      const batch = this.pending.splice(0, this.maxBatch)
      try {
        await this.write(batch.map((b) => b.item))
        for (const b of batch) b.resolve()
      } catch (err) {
        for (const b of batch) b.reject(err)
      }
    }
    this.running = false
  }
}
