/**
 * The open sessions created or read on this process, kept in memory so that reading one back (the SDK reads
 * every property separately) needs no database round trip. The database stays the source of truth: a session
 * missing here is looked up there (another process may have opened it). Bounded: expired entries are dropped
 * when the map grows past 20 000, and everything when that is not enough.
 */

/** A session as served: the decrypted open result, for its user, until it expires. */
export interface MemSession {
  envId: string
  /** org/project/env */
  path: string
  userId: string
  expires: number
  env: Record<string, unknown>
  body: string
}

const MAX_ENTRIES = 20_000

export class OpenSessions {
  private readonly map = new Map<string, MemSession>()

  get(id: string): MemSession | undefined {
    return this.map.get(id)
  }

  /** Remembers a session; makes room first when the map is full. */
  set(id: string, s: MemSession) {
    if (this.map.size > MAX_ENTRIES) {
      const now = Date.now()
      for (const [k, m] of this.map) if (m.expires < now) this.map.delete(k)
      if (this.map.size > MAX_ENTRIES) this.map.clear()
    }
    this.map.set(id, s)
  }

  /** Forgets every session of an environment (it was deleted). */
  forgetEnvironment(envId: string) {
    for (const [k, m] of this.map) if (m.envId === envId) this.map.delete(k)
  }
}
