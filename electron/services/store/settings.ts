/**
 * Store settings: kept in the store file (the `meta` table), so every program using the data folder (app,
 * CLI, agent) sees the same; a setting answers its default until it is set.
 */
import type { AuditLog } from './audit-log.ts'
import { immediate } from './db.ts'
import type { StoreRows } from './rows.ts'

/** Settings kept in the store file (the `meta` table), for every program using it. */
export interface StoreSettings {
  /** whether `envelope run` starts the agent when none is running (see electron/services/agent) */
  'agent.autostart': boolean
}

/** what a setting is until it is set */
export const SETTING_DEFAULTS: StoreSettings = { 'agent.autostart': true }

/** A store setting (see StoreSettings); its default (SETTING_DEFAULTS) when it was never set. */
export function readSetting<K extends keyof StoreSettings>(rows: StoreRows, name: K): StoreSettings[K] {
  const row = rows.stmt('SELECT value FROM meta WHERE key = ?').get(`setting.${name}`) as { value: string } | undefined
  return row ? (JSON.parse(row.value) as StoreSettings[K]) : SETTING_DEFAULTS[name]
}

/** Changes a store setting (audited as `settings`). */
export function writeSetting<K extends keyof StoreSettings>(rows: StoreRows, audit: AuditLog, name: K, value: StoreSettings[K]): void {
  immediate(rows.db, () => {
    rows
      .stmt('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
      .run(`setting.${name}`, JSON.stringify(value))
    audit.insert({ action: 'settings', target: 'store', detail: { [name]: value } })
  })
}
