/**
 * App settings (terminal command) kept as `settings.json` in the data folder, written atomically.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Settings, SettingsInfo } from '../../shared/ipc.ts'
import { UserError } from '../../shared/errors.ts'
import { defaultTerminalCommand } from './terminal.ts'

const defaults: Settings = { terminalCommand: '' }

export class SettingsStore {
  readonly file: string
  readonly dataDir: string
  constructor(dataDir: string) {
    this.dataDir = dataDir
    this.file = join(dataDir, 'settings.json')
  }

  async read(): Promise<Settings> {
    let text: string
    try {
      text = await readFile(this.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ...defaults }
      throw new UserError('io', `cannot read settings ${this.file}: ${(err as Error).message}`, { hint: 'check the permissions of the data folder' })
    }
    try {
      const parsed = JSON.parse(text) as Partial<Settings>
      return { terminalCommand: typeof parsed.terminalCommand === 'string' ? parsed.terminalCommand : '' }
    } catch (err) {
      throw new UserError('invalid_input', `settings file ${this.file} is not valid JSON: ${(err as Error).message}`, {
        hint: 'fix or delete the file; the defaults are used when it is missing',
      })
    }
  }

  async info(): Promise<SettingsInfo> {
    return { ...(await this.read()), defaultTerminalCommand: defaultTerminalCommand() }
  }

  async write(patch: Partial<Settings>): Promise<SettingsInfo> {
    const next = { ...(await this.read()), ...patch }
    await mkdir(this.dataDir, { recursive: true })
    const tmp = `${this.file}.${process.pid}.tmp`
    await writeFile(tmp, JSON.stringify(next, null, 2) + '\n', { mode: 0o600 })
    await rename(tmp, this.file)
    return this.info()
  }
}
