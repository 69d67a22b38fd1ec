/**
 * How the editor shows a value (completion details, hover, the preview): the one value-to-text rule
 * (shared/format/text.ts) over the one redaction (shared/format/values.ts), cut to one line's worth.
 */
import type { EvalValue } from '../../../shared/esc/host.ts'
import { toPlain } from '../../../shared/format/values.ts'
import { plainText, truncateText } from '../../../shared/format/text.ts'

/** Plain text of a value for display; secrets masked unless reveal (an encrypted secret stays `[secret]`). */
export function displayValue(v: EvalValue | undefined, reveal: boolean, max = 200): string {
  if (!v) return ''
  return truncateText(plainText(toPlain(v, { reveal }), 'display'), max)
}
