/**
 * `env diff a[@v] [b][@v]`: the domain's revision comparison (shared/domain/diff.ts) printed as unified
 * diffs (the `diff` package), under `# Value` / `# Definition` headings. Secrets stay hidden
 * unless --show-secrets: in definitions each secret shows as `[secret <tag>]`, where the tag is an HMAC of
 * the plaintext under a key made for this one command, so a changed secret shows up as a change without
 * revealing anything (and tags of two runs cannot be compared).
 */
import { createHmac, randomBytes } from 'node:crypto'
import { createTwoFilesPatch } from 'diff'
import { compareSides, diffSides, revisionSide } from '../../../shared/domain/diff.ts'
import { parseFormat } from '../../../shared/format/index.ts'
import type { Cli } from '../context.ts'

export async function diffCommand(cli: Cli, a: string, b: string | undefined, opts: { format?: string; path?: string; showSecrets: boolean }): Promise<void> {
  const store = await cli.store()
  const [left, right] = diffSides(a, b)
  const key = randomBytes(32)
  const side = { reveal: opts.showSecrets, tag: (plaintext: string) => createHmac('sha256', key).update(plaintext).digest('hex').slice(0, 8) }
  const l = await revisionSide(store, left, side)
  const r = await revisionSide(store, right, side)
  const sections = compareSides(l, r, { format: opts.format ? parseFormat(opts.format) : undefined, path: opts.path, reveal: opts.showSecrets })
  if (sections.length === 0) {
    cli.out(`No differences between ${l.label} and ${r.label}.\n`)
    return
  }
  const patch = (x: string, y: string) => createTwoFilesPatch(l.label, r.label, x, y, undefined, undefined, { context: 3 }).split('\n').slice(1).join('\n')
  cli.out(sections.map((s) => (s.title ? `# ${s.title}\n\`\`\`diff\n${patch(s.left, s.right)}\`\`\`\n` : patch(s.left, s.right))).join('\n'))
}
