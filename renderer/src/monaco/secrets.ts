/**
 * Where the editor masks plaintext secrets: every value under a `fn::secret` key as the parsed document
 * has it (shared/esc/crypt.ts), so `|`/`>` blocks, values on the next line, flow maps and mis-nested secrets
 * are masked whole, over all their lines, not only a value on the key's own line.
 */
import type * as Monaco from 'monaco-editor/esm/vs/editor/editor.api.js'
import { plaintextSecretSpans } from '../../../shared/esc/crypt.ts'

/** The ranges of `model` holding plaintext secret values (ciphertext objects are left alone). */
export function secretRanges(monaco: typeof Monaco, model: Monaco.editor.ITextModel): Monaco.Range[] {
  return plaintextSecretSpans(model.getValue()).map(([start, end]) => monaco.Range.fromPositions(model.getPositionAt(start), model.getPositionAt(end)))
}
