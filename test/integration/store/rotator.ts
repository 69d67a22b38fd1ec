/**
 * Child for the crash test: rotates the store KEK in a loop, printing `ack <keyId>` after each rotation
 * is acknowledged.   node rotator.ts <dataDir>
 */
import { createServices } from '../../../electron/services/index.ts'

const [dataDir] = process.argv.slice(2) as [string]
const services = createServices({ dataDir, keys: { service: 'Envelope-test' } })
process.stdout.write('ready\n')
for (;;) {
  const r = await services.environments.rotateKey()
  process.stdout.write(`ack ${r.keyId}\n`)
}
