/**
 * The app's export (Export dialog: `export.render` / `export.save`): the domain's export use case
 * (shared/domain/export.ts) presented as the IPC contract's ExportResult. Secrets are `[secret]` unless
 * `reveal`; the result says how many secrets the exported part holds so the UI can warn before plaintext
 * secrets reach a file.
 */
import type { ExportFormat, ExportResult } from '../../shared/ipc.ts'
import type { OpenResult } from '../../shared/models.ts'
import { planExport } from '../../shared/domain/export.ts'
import { writeUserFile } from '../services/files/write.ts'

export function renderExport(id: string, opened: OpenResult, format: ExportFormat, reveal: boolean): ExportResult {
  const plan = planExport(id, opened, format, { reveal, hint: 'fix the errors shown in the editor, save, and export again' })
  return {
    content: plan.content,
    filename: plan.filename,
    containsSecrets: plan.containsSecrets,
    secretCount: plan.secretCount,
    diagnostics: opened.diagnostics,
  }
}

/**
 * Writes an export to the path the user picked in the Save dialog, through the one writer of user-named
 * paths (electron/services/files/write.ts): a FIFO or device is written into, a link is followed to a file
 * or refused, a file is created or replaced atomically with mode 0600. Replacing is allowed because the
 * dialog already asked (`showOverwriteConfirmation`); returns the path written.
 */
export async function saveExport(path: string, content: string): Promise<string> {
  await writeUserFile(path, content, { force: true })
  return path
}
