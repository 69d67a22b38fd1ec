/**
 * Child for the keychain-unavailable test: runs in an environment without a usable Secret Service and
 * prints one JSON line: the key status, then either the saved-and-opened secret or the serialized error.
 *   node no-keychain-child.ts <dataDir> <secret>
 */
import { createServices } from '../../../electron/services/index.ts'
import { serializeError } from '../../../shared/errors.ts'
import { objectToJSON } from '../../../shared/esc/index.ts'

const [dataDir, secret] = process.argv.slice(2) as [string, string]
const services = createServices({ dataDir, keys: { service: 'Envelope-test' } })
const env = services.environments
const status = await env.keyStatus()
try {
  const exists = (await env.list()).some((e) => e.id === 'app/dev')
  if (!exists) await env.create('app/dev', { yaml: `values:\n  token:\n    fn::secret: ${secret}\n` })
  const opened = await env.open('app/dev')
  const values = objectToJSON(opened.value, { reveal: true }) as Record<string, unknown>
  console.log(JSON.stringify({ status, token: values.token }))
} catch (err) {
  console.log(JSON.stringify({ status, error: serializeError(err) }))
}
services.close()
