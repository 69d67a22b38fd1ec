/** Evaluator diagnostics → Monaco markers at their exact ranges. */
import type * as Monaco from 'monaco-editor/esm/vs/editor/editor.api.js'
import type { Diagnostic } from '../../../shared/esc/host.ts'
import { namesEnvironment } from '../../../shared/domain/names.ts'

/** Diagnostics located in environment `id` (the evaluator may name it `project/env` or just `env`). */
export function diagnosticsFor(diags: Diagnostic[], id: string): Diagnostic[] {
  return diags.filter((d) => d.range && (namesEnvironment(d.range.environment, id) || d.range.environment === ''))
}

export function toMarkers(monaco: typeof Monaco, diags: Diagnostic[], model: Monaco.editor.ITextModel): Monaco.editor.IMarkerData[] {
  const lineCount = model.getLineCount()
  return diags.flatMap((d) => {
    if (!d.range) return []
    const startLine = Math.min(Math.max(d.range.begin.line, 1), lineCount)
    const endLine = Math.min(Math.max(d.range.end.line, startLine), lineCount)
    const startColumn = Math.max(d.range.begin.column, 1)
    let endColumn = Math.max(d.range.end.column, 1)
    // an empty range still gets a visible squiggle: extend to the end of the line
    if (endLine === startLine && endColumn <= startColumn) endColumn = model.getLineMaxColumn(startLine)
    return [
      {
        severity: d.severity === 'error' ? monaco.MarkerSeverity.Error : monaco.MarkerSeverity.Warning,
        message: d.summary + (d.path ? ` (${d.path})` : ''),
        source: 'envelope',
        startLineNumber: startLine,
        startColumn,
        endLineNumber: endLine,
        endColumn,
      },
    ]
  })
}
