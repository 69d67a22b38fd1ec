/**
 * Writing strings into YAML so that they read back exactly as given (issue 12: a value is stored exactly as given).
 * The `yaml` package picks a block scalar for multi-line text and spells some of them so they read back otherwise.
 */
import { isScalar, visit, type Document } from 'yaml'

/**
 * `value` as a YAML node of `doc` whose text reads back exactly: strings with line breaks or surrounding spaces
 * are written double-quoted (JSON escapes), never as block scalars, whose spelling `yaml` gets wrong for some texts
 * (`" \n"` is written `|+` with a line of spaces and read back as `"\n"`). Used by `env set` and the `.env` import.
 */
export function exactNode(doc: Document, value: unknown): unknown {
  const node = doc.createNode(value)
  const fix = (n: unknown): void => {
    if (isScalar(n) && typeof n.value === 'string' && (/[\n\r\u0085\u2028\u2029]/.test(n.value) || n.value.trim() !== n.value)) n.type = 'QUOTE_DOUBLE'
  }
  fix(node)
  visit(node, { Scalar: (_, n) => fix(n) })
  return node
}
