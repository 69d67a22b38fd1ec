/**
 * Child process for the crash and concurrency tests: saves revisions of one environment in a loop and
 * prints `ack <revision> <counter>` after each save is acknowledged (the promise resolved = committed).
 *
 *   node writer.ts <dataDir> <environment> <label> <saves|0 for endless>
 *
 * On a ConflictError it reloads and retries (printing `conflict`), so concurrent writers never lose a save.
 */
import { createServices } from '../../../electron/services/index.ts'
import { ConflictError, UserError } from '../../../shared/errors.ts'

const [dataDir, id, label, savesArg] = process.argv.slice(2) as [string, string, string, string]
const saves = Number(savesArg)
const services = createServices({ dataDir, keys: { service: 'Envelope-test' } })
const env = services.environments
try {
  await env.create(id)
} catch (err) {
  if (!(err instanceof UserError && err.code === 'already_exists')) throw err
}
process.stdout.write('ready\n')
for (let i = 1; saves === 0 || i <= saves; i++) {
  for (;;) {
    const base = (await env.getDefinition(id)).revision
    try {
      const rev = await env.update(id, `values:\n  writer: ${label}\n  counter: ${i}\n  secret:\n    fn::secret: crash-secret-${label}-${i}\n`, {
        baseRevision: base,
        message: `${label} ${i}`,
      })
      process.stdout.write(`ack ${rev.number} ${label} ${i}\n`)
      break
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err
      process.stdout.write('conflict\n')
    }
  }
}
services.close()
