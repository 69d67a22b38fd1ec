/**
 * Watching the store for changes made elsewhere (issue 12, rule 13): the CLI, the agent, sync, another
 * window. The app polls `store.version` every second or two (the contract has request/response channels
 * only, and the web transport is plain HTTP: a cheap poll beats a second event transport) and refreshes the
 * environment list and the open environment's revision when the token changes.
 *
 * The token is SQLite's `PRAGMA data_version` read on a connection of its own: it changes whenever ANY
 * other connection commits to the file (the app's own store connection included, so the app's own saves
 * count too), and reading it is a lookup in the WAL index (no table read, no lock held). A second
 * connection is used because data_version ignores the commits of the connection that reads it.
 */
import { DatabaseSync } from 'node:sqlite'

export class StoreWatch {
  readonly #file: string
  #db: DatabaseSync | undefined
  /** bumped when the connection is (re)opened: data_version values are only comparable on one connection */
  #epoch = 0

  constructor(file: string) {
    this.#file = file
  }

  /** An opaque token that changes when anything commits to the store (an `io` failure reopens next time). */
  version(): string {
    try {
      if (!this.#db) {
        // never creates the file (the store did, 0600); read-only: this connection writes nothing
        this.#db = new DatabaseSync(this.#file, { readOnly: true })
        this.#epoch++
      }
      const row = this.#db.prepare('PRAGMA data_version').get() as { data_version: number }
      return `${this.#epoch}.${row.data_version}`
    } catch (err) {
      this.close()
      throw err
    }
  }

  close(): void {
    try {
      this.#db?.close()
    } finally {
      this.#db = undefined
    }
  }
}
