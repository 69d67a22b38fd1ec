/**
 * `env diff a[@v] [b][@v]`: unified diffs (the `diff` package) of the checked values and of the
 * definitions. Secrets stay hidden unless --show-secrets: in definitions each secret shows as
 * `[secret <tag>]`, where the tag is an HMAC of the plaintext under a key made for this one command, so
 * a changed secret shows up as a change without revealing anything.
 */
import { createHmac, randomBytes } from 'node:crypto'
import { createTwoFilesPatch } from 'diff'
import { isMap, isScalar, parseDocument, visit } from 'yaml'
import { formatEnvFile, formatValue, lookup, parseFormat, parsePath, projectEnvironment, rootValue, type ValueFormat } from '../../../shared/format/index.ts'
import type { Cli } from '../context.ts'

function sides(a: string, b: string | undefined): [string, string] {
  const envA = a.replace(/@.*$/, '')
  const left = a.includes('@') ? a : `${a}@latest`
  if (b === undefined) return [left, `${envA}@latest`]
  if (b.startsWith('@')) return [left, `${envA}${b}`]
  return [left, b.includes('@') ? b : `${b}@latest`]
}

function maskSecrets(yaml: string, key: Buffer): string {
  const doc = parseDocument(yaml)
  visit(doc, {
    Map(_, map) {
      if (map.items.length !== 1) return
      const [pair] = map.items
      if (!pair || !isScalar(pair.key) || pair.key.value !== 'fn::secret') return
      if (isScalar(pair.value)) {
        const tag = createHmac('sha256', key).update(String(pair.value.value)).digest('hex').slice(0, 8)
        pair.value.value = `[secret ${tag}]`
      } else if (isMap(pair.value)) {
        pair.value = doc.createNode('[secret]')
      }
    },
  })
  return doc.toString({ lineWidth: 0 })
}

export async function diffCommand(cli: Cli, a: string, b: string | undefined, opts: { format?: string; path?: string; showSecrets: boolean }): Promise<void> {
  const store = await cli.store()
  const [left, right] = sides(a, b)
  const key = randomBytes(32)
  const reveal = opts.showSecrets
  const load = async (ref: string) => {
    const stored = await store.getDefinition(ref)
    const plain = await store.getDefinition(ref, { decrypt: true })
    // check mode does not decrypt: with --show-secrets check the decrypted text so secrets have values
    const checked = await store.check(stored.environment, reveal ? plain.yaml : stored.yaml)
    const label = `${stored.environment}@${stored.revision}`
    const definition = reveal ? plain.yaml : maskSecrets(plain.yaml, key)
    const root = rootValue(checked.value)
    const v = opts.path ? lookup(root, parsePath(opts.path)) : root
    return { label, definition, checked, v }
  }
  const l = await load(left)
  const r = await load(right)
  const render = (side: typeof l, format: ValueFormat): string => {
    if (format === 'dotenv' || format === 'shell') {
      const p = projectEnvironment(side.checked.value, { reveal })
      return formatEnvFile(format, { ...p.variables, ...p.files })
    }
    return formatValue(format, side.v, { reveal })
  }
  const patch = (x: string, y: string) => createTwoFilesPatch(l.label, r.label, x, y, undefined, undefined, { context: 3 }).split('\n').slice(1).join('\n')
  if (opts.format) {
    const format = parseFormat(opts.format)
    const x = render(l, format)
    const y = render(r, format)
    cli.out(x === y ? `No differences between ${l.label} and ${r.label}.\n` : patch(x, y))
    return
  }
  const vx = render(l, 'json')
  const vy = render(r, 'json')
  const dx = opts.path ? '' : l.definition
  const dy = opts.path ? '' : r.definition
  if (vx === vy && dx === dy) {
    cli.out(`No differences between ${l.label} and ${r.label}.\n`)
    return
  }
  let out = ''
  if (vx !== vy) out += `# Value\n\`\`\`diff\n${patch(vx, vy)}\`\`\`\n`
  if (dx !== dy) out += `${out ? '\n' : ''}# Definition\n\`\`\`diff\n${patch(dx, dy)}\`\`\`\n`
  cli.out(out)
}
