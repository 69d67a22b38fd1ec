/**
 * The store keeps each revision's parsed form (revision_syntax) so that opening in a fresh process decodes
 * it instead of parsing YAML: written with every save, filled in by an open for revisions that lack it
 * (older stores, clones, imports), ignored when of another format, removed with the environment.
 * Real SQLite file, real Secret Service (run with test/with-keyring.sh).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { createServices } from '../../../electron/services/index.ts'
import { clearParseCache, decodeEnvironmentDoc, encodeEnvironmentDoc, objectToJSON, parseEnvironment, SYNTAX_FORMAT } from '../../../shared/esc/index.ts'

const keys = { service: 'Envelope-test', env: {} }

interface Row {
  env: string
  number: number
  format: number
  tree: string
  yaml: string
}

function rows(file: string): Row[] {
  const db = new DatabaseSync(file, { readOnly: true })
  try {
    return db
      .prepare(
        `SELECT e.project || '/' || e.name AS env, s.number, s.format, s.tree, r.yaml FROM revision_syntax s
      JOIN environments e ON e.id = s.env_id JOIN revisions r ON r.env_id = s.env_id AND r.number = s.number ORDER BY env, s.number`,
      )
      .all() as unknown as Row[]
  } finally {
    db.close()
  }
}

function sql(file: string, statement: string): void {
  const db = new DatabaseSync(file)
  try {
    db.exec(statement)
  } finally {
    db.close()
  }
}

async function withStore(fn: (dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'envelope-syntax-'))
  try {
    await fn(dataDir)
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}

/** opens `id` in a new store instance (a fresh process's view: no in-memory caches) */
async function openFresh(dataDir: string, id: string): Promise<Record<string, unknown>> {
  clearParseCache()
  const s = createServices({ dataDir, keys, user: 'bob' })
  try {
    const r = await s.environments.open(id)
    assert.deepEqual(r.diagnostics, [])
    return objectToJSON(r.value, { reveal: true }) as Record<string, unknown>
  } finally {
    s.close()
  }
}

test("every save stores the revision's tree, which decodes to the parse of its YAML", async () => {
  await withStore(async (dataDir) => {
    const s = createServices({ dataDir, keys, user: 'alice' })
    try {
      const env = s.environments
      await env.create('app/base', { yaml: 'values:\n  region: eu-west-1\n  token:\n    fn::secret: hunter2\n' })
      await env.create('app/dev', { yaml: 'imports:\n  - app/base\nvalues:\n  url: https://${region}.example.com\n' })
      await env.update('app/dev', 'imports:\n  - app/base\nvalues:\n  url: https://${region}.example.org\n  n: 1\n', { baseRevision: 1 })
      const got = rows(env.file)
      assert.deepEqual(
        got.map((r) => `${r.env}@${r.number}:${r.format}`),
        [`app/base@1:${SYNTAX_FORMAT}`, `app/dev@1:${SYNTAX_FORMAT}`, `app/dev@2:${SYNTAX_FORMAT}`],
      )
      for (const r of got) {
        clearParseCache()
        const parsed = parseEnvironment(r.env, r.yaml).doc
        assert.equal(encodeEnvironmentDoc(decodeEnvironmentDoc(r.env, r.yaml, r.tree)!), encodeEnvironmentDoc(parsed), `${r.env}@${r.number}`)
        assert.ok(!r.tree.includes('hunter2'), 'the tree holds the ciphertext only')
      }
    } finally {
      s.close()
    }
  })
})

test('open decodes the stored tree instead of parsing the YAML', async () => {
  await withStore(async (dataDir) => {
    const s = createServices({ dataDir, keys, user: 'alice' })
    const file = s.environments.file
    await s.environments.create('app/x', { yaml: 'values:\n  a: from-yaml\n' })
    s.close()
    // a tree of another document under the current format: what open returns says which one it used
    const other = encodeEnvironmentDoc(parseEnvironment('app/x', 'values:\n  a: from-tree\n').doc)!
    sql(file, `UPDATE revision_syntax SET tree = '${other.replaceAll("'", "''")}'`)
    assert.deepEqual(await openFresh(dataDir, 'app/x'), { a: 'from-tree' })
  })
})

test('open stores the trees a revision and its imports lack; trees of another format are ignored', async () => {
  await withStore(async (dataDir) => {
    const s = createServices({ dataDir, keys, user: 'alice' })
    const file = s.environments.file
    await s.environments.create('app/base', { yaml: 'values:\n  region: eu-west-1\n  pw:\n    fn::secret: s3cr3t\n' })
    await s.environments.create('app/dev', { yaml: 'imports:\n  - app/base\nvalues:\n  where: ${region}\n' })
    await s.environments.clone('app/dev', 'app/copy')
    s.close()
    const expected = { region: 'eu-west-1', pw: 's3cr3t', where: 'eu-west-1' }
    // a clone has no tree yet; an older store has none at all; a stale format must not be read
    assert.deepEqual(
      rows(file).map((r) => r.env),
      ['app/base', 'app/dev'],
    )
    sql(file, `UPDATE revision_syntax SET format = ${SYNTAX_FORMAT + 1}, tree = 'not a tree' WHERE env_id = (SELECT id FROM environments WHERE name = 'base')`)
    sql(file, "DELETE FROM revision_syntax WHERE env_id = (SELECT id FROM environments WHERE name = 'dev')")
    assert.deepEqual(await openFresh(dataDir, 'app/copy'), expected)
    assert.deepEqual(
      rows(file).map((r) => `${r.env}:${r.format}`),
      [`app/base:${SYNTAX_FORMAT}`, `app/copy:${SYNTAX_FORMAT}`],
    )
    assert.deepEqual(await openFresh(dataDir, 'app/dev'), expected)
    assert.deepEqual(
      rows(file).map((r) => r.env),
      ['app/base', 'app/copy', 'app/dev'],
    )
    // and the stored trees give the same values
    assert.deepEqual(await openFresh(dataDir, 'app/dev'), expected)
  })
})

test('the trees go with their environment', async () => {
  await withStore(async (dataDir) => {
    const s = createServices({ dataDir, keys, user: 'alice' })
    try {
      await s.environments.create('app/a', { yaml: 'values:\n  a: 1\n' })
      await s.environments.create('app/b', { yaml: 'values:\n  b: 1\n' })
      await s.environments.delete('app/a')
      assert.deepEqual(
        rows(s.environments.file).map((r) => r.env),
        ['app/b'],
      )
    } finally {
      s.close()
    }
  })
})
