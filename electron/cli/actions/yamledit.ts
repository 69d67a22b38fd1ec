/** Editing one property of a definition (`env set` / `env rm <path>`) while keeping the rest of the YAML as is. */
import { isAlias, isCollection, isMap, isScalar, isSeq, parseDocument, visit, type Document, type YAMLMap, type YAMLSeq } from 'yaml'
import { UserError } from '../../../shared/errors.ts'
import { formatPath, type PathSegment } from '../../../shared/format/paths.ts'
import { yamlErrorSummary } from '../../../shared/esc/syntax.ts'

export function loadDefinition(yaml: string, env: string): Document {
  // uniqueKeys: false: the yaml package checks duplicates pairwise (quadratic: 16 s for 40,000 keys); the core reports them
  const doc: Document = parseDocument(yaml, { uniqueKeys: false })
  if (doc.contents === null) doc.contents = doc.createNode({})
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!
    throw new UserError('invalid_input', `${env}: the stored definition is not valid YAML (${yamlErrorSummary(e.message)})`, {
      hint: `fix it with \`envelope env edit ${env}\``,
    })
  }
  if (!isMap(doc.contents))
    throw new UserError('invalid_input', `${env}: the definition is not a YAML mapping`, { hint: `fix it with \`envelope env edit ${env}\`` })
  // an empty definition is stored as `{}`: grow it in block style
  if (doc.contents.items.length === 0) doc.contents.flow = false
  return doc
}

/** What a YAML node is, for error messages ("a list", "a string", …). */
function describe(node: unknown): string {
  if (isSeq(node)) return 'a list'
  if (isMap(node)) return 'an object'
  if (isAlias(node)) return 'a YAML alias'
  if (isScalar(node)) {
    const v = node.value
    return v === null ? 'empty (null)' : `${typeof v === 'object' ? 'a value' : `a ${typeof v}`} (${JSON.stringify(String(v)).slice(0, 40)})`
  }
  return 'not a collection'
}

/**
 * Sets `values.<path>` to `value` (a JS value or YAML node), creating objects on the way. Every step of the path is
 * checked first: a key through a list or a scalar, or an index through an object or past the end of a list, is a
 * UserError naming the path — never a silent replacement and never the YAML library's internal error.
 */
export function setValue(doc: Document, path: PathSegment[], value: unknown): void {
  if (typeof path[0] === 'number') throw new UserError('invalid_input', `cannot set ${formatPath(path)}: values is an object; a path starts with a key`)
  let node: unknown = doc.get('values', true)
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!
    const where = formatPath(path.slice(0, i)) || 'values'
    if (node === undefined || node === null || (isScalar(node) && node.value === null)) {
      // nothing there, or an empty value (`values:`, `a: ~`): it becomes the object or list the rest of the path needs
      const index = path.slice(i).find((s) => typeof s === 'number' && s !== 0)
      if (index !== undefined)
        throw new UserError(
          'invalid_input',
          `cannot set ${formatPath(path)}: ${where} ${node === undefined ? 'does not exist' : 'is empty'}, so there is no item ${index}`,
          {
            hint: 'a new list starts at index 0',
          },
        )
      const nested = path.slice(i).reduceRight<unknown>((inner, s) => (typeof s === 'number' ? doc.createNode([inner]) : doc.createNode({ [s]: inner })), value)
      doc.setIn(['values', ...path.slice(0, i)], nested)
      return
    }
    if (typeof seg === 'number' ? !isSeq(node) : !isMap(node)) {
      throw new UserError(
        'invalid_input',
        `cannot set ${formatPath(path)}: ${where} is ${describe(node)}, not ${typeof seg === 'number' ? 'a list' : 'an object'}`,
        {
          hint: isMap(node)
            ? `an object takes keys, e.g. ${formatPath([...path.slice(0, i), 'name'])}`
            : isSeq(node)
              ? `list items are set by index, e.g. ${formatPath([...path.slice(0, i), 0])}`
              : `to replace it, remove it first: envelope env rm <env> ${where}`,
        },
      )
    }
    if (typeof seg === 'number') {
      const length = (node as YAMLSeq).items.length
      if (seg > length)
        throw new UserError('invalid_input', `cannot set ${formatPath(path)}: ${where} has ${length} item${length === 1 ? '' : 's'}`, {
          hint: `set an existing index, or ${formatPath([...path.slice(0, i), length])} to append`,
        })
    }
    node = (node as YAMLMap | YAMLSeq).get(seg, true)
  }
  doc.setIn(['values', ...path], value)
}

/** Throws when the written definition does not read back `value` at `values.<path>` (nothing is saved then). */
export function assertReadsBack(text: string, path: PathSegment[], value: unknown): void {
  const back = parseDocument(text, { uniqueKeys: false }).getIn(['values', ...path])
  const got = back !== null && typeof back === 'object' && 'toJSON' in back ? (back as { toJSON(): unknown }).toJSON() : back
  if (JSON.stringify(got) !== JSON.stringify(value))
    throw new UserError('invalid_input', `cannot store ${formatPath(path)} exactly as given in YAML; nothing was saved`, {
      hint: 'use --string or --secret (stored exactly), or envelope env edit',
    })
}

/** Removes `values.<path>`; throws when it does not exist. */
export function deleteValue(doc: Document, path: PathSegment[]): void {
  if (!doc.hasIn(['values', ...path])) throw new UserError('not_found', `property ${formatPath(path)} does not exist`)
  doc.deleteIn(['values', ...path])
}

/**
 * The value `env set` stores for a plain argument or file (no `--secret`, no `--string`): YAML typing where it is
 * lossless, the text itself otherwise. Typed: a number, boolean or null written the way YAML writes it back (`8080`,
 * `true`, `null`, `1.5`), a quoted string (`"a b"` is `a b`), a list or an object (`[a, b]`, `{a: 1}`, `a: 1`).
 * Anything else is the exact text — `007`, `False`, `1.0`, `hunter2 #1` (a YAML comment would drop `#1`), a PEM
 * (YAML would fold its lines), leading/trailing spaces — so a value is never silently altered by YAML.
 */
export function plainValue(raw: string): unknown {
  if (raw === '') return ''
  const doc = parseDocument(raw, { prettyErrors: false })
  const node = doc.contents
  if (doc.errors.length > 0) {
    // text meant as YAML (a flow collection, a quoted string) that is not valid: say so rather than store it as text
    if (/^\s*[[{"']/.test(raw))
      throw new UserError('invalid_input', `the value is not valid YAML: ${yamlErrorSummary(doc.errors[0]!.message)}`, {
        hint: 'use --string to store it as text exactly',
      })
    return raw
  }
  if (isScalar(node)) {
    if (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') return raw.trim() === raw && !hasComment(doc) ? node.value : raw
    const v = node.value
    if (typeof v !== 'string' && (v === null || typeof v === 'number' || typeof v === 'boolean') && String(v) === raw) return v
    return raw
  }
  if (isMap(node) || isSeq(node)) {
    // a key that is itself a list or an object (`? [a]: 1`) would be stringified: keep the text instead
    let complexKey = false
    visit(doc, {
      Pair(_, pair) {
        if (isCollection(pair.key)) complexKey = true
      },
    })
    if (complexKey) return raw
    try {
      return doc.toJS({ maxAliasCount: 100 })
    } catch {
      // an alias to nothing (`a: *x`) or too many alias expansions: not a value YAML can give, so the text itself
      return raw
    }
  }
  return raw
}

function hasComment(doc: Document): boolean {
  return Boolean(doc.comment || doc.commentBefore || doc.contents?.comment || doc.contents?.commentBefore)
}
