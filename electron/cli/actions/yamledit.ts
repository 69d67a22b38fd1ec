/** Editing one property of a definition (`env set` / `env rm <path>`) while keeping the rest of the YAML as is. */
import { isMap, isSeq, parseDocument, type Document } from 'yaml'
import { UserError } from '../../../shared/errors.ts'
import { formatPath, type PathSegment } from '../../../shared/format/paths.ts'

export function loadDefinition(yaml: string, env: string): Document {
  // uniqueKeys: false: the yaml package checks duplicates pairwise (quadratic: 16 s for 40,000 keys); the core reports them
  const doc: Document = parseDocument(yaml, { uniqueKeys: false })
  if (doc.contents === null) doc.contents = doc.createNode({})
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!
    throw new UserError('invalid_input', `${env}: the stored definition is not valid YAML (${e.message})`, { hint: `fix it with \`envelope env edit ${env}\`` })
  }
  if (!isMap(doc.contents))
    throw new UserError('invalid_input', `${env}: the definition is not a YAML mapping`, { hint: `fix it with \`envelope env edit ${env}\`` })
  // an empty definition is stored as `{}`: grow it in block style
  if (doc.contents.items.length === 0) doc.contents.flow = false
  return doc
}

/** Sets `values.<path>` to `value` (a JS value or YAML node), creating objects on the way. */
export function setValue(doc: Document, path: PathSegment[], value: unknown): void {
  // check the intermediate nodes: never silently replace a scalar with an object
  let node: unknown = doc.get('values', true)
  for (let i = 0; i < path.length - 1 && node !== undefined; i++) {
    const seg = path[i]!
    if (typeof seg === 'number' ? !isSeq(node) : !isMap(node)) {
      throw new UserError(
        'invalid_input',
        `cannot set ${formatPath(path)}: ${formatPath(path.slice(0, i)) || 'values'} is not ${typeof seg === 'number' ? 'a list' : 'an object'}`,
      )
    }
    node = (node as { get(k: unknown, keep: true): unknown }).get(seg, true)
  }
  doc.setIn(['values', ...path], value)
}

/** Removes `values.<path>`; throws when it does not exist. */
export function deleteValue(doc: Document, path: PathSegment[]): void {
  if (!doc.hasIn(['values', ...path])) throw new UserError('not_found', `property ${formatPath(path)} does not exist`)
  doc.deleteIn(['values', ...path])
}
