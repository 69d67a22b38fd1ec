/** Shared by the provider tests: the test PostgreSQL, EvalValue unwrapping, temp plugin executables. */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { EvalValue, JsonValue } from '../../../shared/esc/host.ts'

// test/pg.sh may print pg_ctlcluster's "Cluster is already running." before the URL: keep the URL line
export const PG_URL = process.env.ENVELOPE_TEST_PG_URL?.split('\n')
  .map((l) => l.trim())
  .filter((l) => /^postgres(ql)?:\/\//.test(l))
  .pop()
export const skipNoPg = PG_URL ? false : 'ENVELOPE_TEST_PG_URL is not set (run `bash test/pg.sh`)'

export function isEvalValue(v: unknown): v is EvalValue {
  return v !== null && typeof v === 'object' && 'value' in v && 'trace' in v
}

/** EvalValue -> plain JSON (secrets revealed), plus the list of secret paths (dotted). */
export function unwrap(v: JsonValue | EvalValue): { json: JsonValue; secrets: string[] } {
  const secrets: string[] = []
  const walk = (e: EvalValue, path: string): JsonValue => {
    if (e.secret) secrets.push(path)
    const inner = e.value
    if (Array.isArray(inner)) return inner.map((x, i) => walk(x, `${path}[${i}]`))
    if (inner !== null && typeof inner === 'object') {
      const o: { [k: string]: JsonValue } = {}
      for (const [k, x] of Object.entries(inner)) o[k] = walk(x, path ? `${path}.${k}` : k)
      return o
    }
    return inner
  }
  if (!isEvalValue(v)) return { json: v, secrets }
  return { json: walk(v, ''), secrets }
}

/** What the evaluator does with a state it reads: `{"fn::secret": x}` becomes x. */
export function evaluatedState(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(evaluatedState)
  if (v !== null && typeof v === 'object') {
    if (Object.keys(v).length === 1 && typeof v['fn::secret'] === 'string') return v['fn::secret']
    const o: { [k: string]: JsonValue } = {}
    for (const [k, x] of Object.entries(v)) o[k] = evaluatedState(x)
    return o
  }
  return v
}

/** Connects with a URL, runs a query, closes; resolves to the rows or rejects with the pg error. */
export async function query(url: string, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 })
  c.on('error', () => {})
  await c.connect()
  try {
    return (await c.query(sql, params)).rows as Record<string, unknown>[]
  } finally {
    await c.end().catch(() => {})
  }
}

export function tempDir(prefix = 'envelope-providers-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/** Writes an executable script `envelope-provider-<name>` into dir. */
export function writePlugin(dir: string, name: string, script: string): string {
  const file = join(dir, `envelope-provider-${name}`)
  writeFileSync(file, script)
  chmodSync(file, 0o755)
  return file
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
