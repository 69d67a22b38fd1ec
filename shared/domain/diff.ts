/**
 * Diffs of an environment's revisions (`envelope env diff a[@v] [b][@v]`), over the storage interface:
 * which texts to compare (the checked values, in a format or as JSON, and the definitions) and whether
 * they differ. Drawing the differences is the face's (the CLI: unified diffs with the `diff` package; the
 * app: Monaco's diff editor), which keeps the domain free of packages other than `yaml`.
 * Secrets stay hidden unless `reveal`: in definitions each secret shows as `[secret <tag>]`, where the
 * face gives the tag function (the CLI: an HMAC of the plaintext under a key made for one command), so a
 * changed secret shows up as a change without revealing anything. The domain stays pure: no crypto here.
 * The app's History screen (revision vs revision or vs the unsaved buffer) shows its two definition texts
 * in Monaco's diff editor, which computes the diff itself: this module is the one place where Envelope
 * computes one, and a face that wants a value diff of its own (the app, the server) calls it.
 */
import { isMap, isScalar, parseDocument, visit } from 'yaml'
import type { EvalValue } from '../esc/host.ts'
import { formatEnvFile, formatValue, lookup, parsePath, projectEnvironment, rootValue, type ValueFormat } from '../format/index.ts'
import type { EnvironmentService } from '../models.ts'

/** The two references to compare: `a` (latest unless versioned) and `b`, `@v` of a's environment, or a's latest. */
export function diffSides(a: string, b: string | undefined): [string, string] {
  const envA = a.replace(/@.*$/, '')
  const left = a.includes('@') ? a : `${a}@latest`
  if (b === undefined) return [left, `${envA}@latest`]
  if (b.startsWith('@')) return [left, `${envA}${b}`]
  return [left, b.includes('@') ? b : `${b}@latest`]
}

/** A definition with each `fn::secret` plaintext replaced by `[secret <tag(plaintext)>]` (a secret map by `[secret]`). */
export function tagSecrets(yaml: string, tag: (plaintext: string) => string): string {
  const doc = parseDocument(yaml)
  visit(doc, {
    Map(_, map) {
      if (map.items.length !== 1) return
      const [pair] = map.items
      if (!pair || !isScalar(pair.key) || pair.key.value !== 'fn::secret') return
      if (isScalar(pair.value)) {
        pair.value.value = `[secret ${tag(String(pair.value.value))}]`
      } else if (isMap(pair.value)) {
        pair.value = doc.createNode('[secret]')
      }
    },
  })
  return doc.toString({ lineWidth: 0 })
}

/** One side of a diff: its label (`env@revision`), definition text and checked value. */
export interface DiffSide {
  label: string
  /** secrets tagged unless revealed */
  definition: string
  value: Record<string, EvalValue> | undefined
}

export interface DiffOptions {
  reveal: boolean
  /** the secret tag function (used unless `reveal`) */
  tag: (plaintext: string) => string
}

/** What the diff needs of a store. */
export type DiffStore = Pick<EnvironmentService, 'getDefinition' | 'check'>

/** Loads a stored revision as a diff side: checked (with its secrets decrypted when revealed), tagged unless revealed. */
export async function revisionSide(store: DiffStore, ref: string, opts: DiffOptions): Promise<DiffSide> {
  const stored = await store.getDefinition(ref)
  const plain = await store.getDefinition(ref, { decrypt: true })
  return sideOf(store, stored.environment, `${stored.environment}@${stored.revision}`, opts.reveal ? plain.yaml : stored.yaml, plain.yaml, opts)
}

async function sideOf(store: DiffStore, id: string, label: string, checkYaml: string, plainYaml: string, opts: DiffOptions): Promise<DiffSide> {
  // check mode does not decrypt: revealed, the decrypted text is checked so that secrets have values
  const checked = await store.check(id, checkYaml)
  return { label, definition: opts.reveal ? plainYaml : tagSecrets(plainYaml, opts.tag), value: checked.value }
}

/** Two texts that differ: a face shows them as a diff. Untitled when a format was asked for (the only section). */
export interface DiffSection {
  title?: 'Value' | 'Definition'
  left: string
  right: string
}

/**
 * What differs between two sides, as sections (none: no differences). With `format`, the values in that
 * format only (dotenv/shell: variables and files); else a `Value` (JSON) and a `Definition` section, each
 * only when it differs (with `path`, the value under that property only, without definitions).
 */
export function compareSides(l: DiffSide, r: DiffSide, opts: { format?: ValueFormat | undefined; path?: string | undefined; reveal: boolean }): DiffSection[] {
  const render = (side: DiffSide, format: ValueFormat): string => {
    if (format === 'dotenv' || format === 'shell') {
      const p = projectEnvironment(side.value, { reveal: opts.reveal })
      return formatEnvFile(format, { ...p.variables, ...p.files })
    }
    const root = rootValue(side.value)
    return formatValue(format, opts.path ? lookup(root, parsePath(opts.path)) : root, { reveal: opts.reveal })
  }
  if (opts.format) {
    const left = render(l, opts.format)
    const right = render(r, opts.format)
    return left === right ? [] : [{ left, right }]
  }
  const sections: DiffSection[] = []
  const value = { title: 'Value' as const, left: render(l, 'json'), right: render(r, 'json') }
  if (value.left !== value.right) sections.push(value)
  if (!opts.path && l.definition !== r.definition) sections.push({ title: 'Definition', left: l.definition, right: r.definition })
  return sections
}
