/**
 * `env diff a[@v] [b][@v]`: the domain's revision diff (shared/domain/diff.ts) printed. Secrets stay hidden
 * unless --show-secrets: in definitions each secret shows as `[secret <tag>]`, where the tag is an HMAC of
 * the plaintext under a key made for this one command, so a changed secret shows up as a change without
 * revealing anything (and tags of two runs cannot be compared).
 */
import { createHmac, randomBytes } from 'node:crypto'
import { diffSides, renderDiff, revisionSide } from '../../../shared/domain/diff.ts'
import { parseFormat } from '../../../shared/format/index.ts'
import type { Cli } from '../context.ts'

export async function diffCommand(cli: Cli, a: string, b: string | undefined, opts: { format?: string; path?: string; showSecrets: boolean }): Promise<void> {
  const store = await cli.store()
  const [left, right] = diffSides(a, b)
  const key = randomBytes(32)
  const side = { reveal: opts.showSecrets, tag: (plaintext: string) => createHmac('sha256', key).update(plaintext).digest('hex').slice(0, 8) }
  const l = await revisionSide(store, left, side)
  const r = await revisionSide(store, right, side)
  cli.out(renderDiff(l, r, { format: opts.format ? parseFormat(opts.format) : undefined, path: opts.path, reveal: opts.showSecrets }))
}
