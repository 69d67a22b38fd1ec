/**
 * The Export screen's visits (issue 12, rule 13). A visit opens the environment ONCE (`export.open`:
 * providers run once, one `open` audit event) and every option change re-renders the formats from that
 * opened result (`export.render` with the session), instead of opening (and re-running providers) per
 * format or reveal toggle.
 *
 * The opened result holds decrypted values, so a visit is kept only while it is used: dropped by
 * `export.close` (leaving the screen), after `idleMs` without use, and beyond `max` visits (oldest first).
 *
 * Audit: an export is recorded as `export` (the domain's event, shared/domain/export.ts) when its content
 * leaves the main side with plaintext secrets in it (a revealed render: once per visit and format, since
 * the screen shows it and the browser's Download hands out exactly that content), and on every save to a
 * file (with the file's path). A masked preview holds no secret and is not an export.
 */
import { randomUUID } from 'node:crypto'
import { UserError } from '../../shared/errors.ts'
import type { ExportFormat } from '../../shared/ipc.ts'
import type { OpenResult } from '../../shared/models.ts'

interface Visit {
  id: string
  opened: OpenResult
  usedAt: number
  /** formats whose revealed content was already audited in this visit */
  audited: Set<ExportFormat>
}

export interface ExportSessionsOptions {
  /** visits kept at once (default 4) */
  max?: number
  /** a visit unused this long is dropped (default 15 minutes) */
  idleMs?: number
  now?: () => number
}

export class ExportSessions {
  readonly #visits = new Map<string, Visit>()
  readonly #open: (id: string) => Promise<OpenResult>
  readonly #max: number
  readonly #idleMs: number
  readonly #now: () => number

  constructor(open: (id: string) => Promise<OpenResult>, opts: ExportSessionsOptions = {}) {
    this.#open = open
    this.#max = opts.max ?? 4
    this.#idleMs = opts.idleMs ?? 15 * 60_000
    this.#now = opts.now ?? Date.now
  }

  /** Opens `id` (once) for a visit of the Export screen; returns the visit's session token. */
  async open(id: string): Promise<string> {
    this.#sweep()
    const opened = await this.#open(id)
    const session = randomUUID()
    this.#visits.set(session, { id, opened, usedAt: this.#now(), audited: new Set() })
    while (this.#visits.size > this.#max) {
      const oldest = this.#visits.keys().next().value
      if (oldest === undefined) break
      this.#visits.delete(oldest)
    }
    return session
  }

  /** The opened result of visit `session` of environment `id` (a UserError when expired or another environment's). */
  get(session: string, id: string): OpenResult {
    this.#sweep()
    const v = this.#visits.get(session)
    if (!v) throw new UserError('not_found', `this export of ${id} has expired`, { hint: 'leave the Export screen and open it again' })
    if (v.id !== id) throw new UserError('invalid_input', `this export session is for ${v.id}, not ${id}`, { hint: 'open the Export screen again' })
    v.usedAt = this.#now()
    return v.opened
  }

  /**
   * True the first time revealed content of `format` is handed out in visit `session` (or always without
   * a session): the caller records the `export` audit event then.
   */
  firstReveal(session: string | undefined, format: ExportFormat): boolean {
    const v = session === undefined ? undefined : this.#visits.get(session)
    if (!v) return true
    if (v.audited.has(format)) return false
    v.audited.add(format)
    return true
  }

  close(session: string): void {
    this.#visits.delete(session)
  }

  clear(): void {
    this.#visits.clear()
  }

  get size(): number {
    return this.#visits.size
  }

  #sweep(): void {
    const now = this.#now()
    for (const [k, v] of this.#visits) if (now - v.usedAt > this.#idleMs) this.#visits.delete(k)
  }
}
