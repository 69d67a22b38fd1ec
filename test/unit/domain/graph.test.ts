import { test } from 'node:test'
import assert from 'node:assert/strict'
import { importsOf, markCycles, normaliseImport } from '../../../shared/domain/graph.ts'
import type { GraphEdge } from '../../../shared/ipc.ts'

const edge = (from: string, to: string): GraphEdge => ({ from, to, raw: to, broken: false, cycle: false })

test('importsOf reads string and one-key-map entries, ignores the rest', () => {
  assert.deepEqual(importsOf('imports:\n  - a/b\n  - c@3\n  - d/e: { merge: false }\n  - 5\nvalues: {}\n'), ['a/b', 'c@3', 'd/e'])
  assert.deepEqual(importsOf('values: {}\n'), [])
  assert.deepEqual(importsOf(': not yaml ['), [])
})

test('normaliseImport strips versions and resolves one-part names in the importer project, then default/', () => {
  const ids = new Set(['p/base', 'default/legacy'])
  const exists = (id: string) => ids.has(id)
  assert.equal(normaliseImport('p/base@3', 'p', exists), 'p/base')
  assert.equal(normaliseImport('base:stable', 'p', exists), 'p/base')
  assert.equal(normaliseImport('legacy', 'p', exists), 'default/legacy')
  assert.equal(normaliseImport('org/p/base', 'q', exists), 'p/base')
  assert.equal(normaliseImport('missing', 'p', exists), 'p/missing')
})

test('markCycles marks exactly the edges inside cycles (including self-imports)', () => {
  const edges = [edge('a', 'b'), edge('b', 'c'), edge('c', 'a'), edge('c', 'd'), edge('e', 'e'), edge('f', 'a')]
  markCycles(edges)
  assert.deepEqual(
    edges.filter((e) => e.cycle).map((e) => `${e.from}->${e.to}`),
    ['a->b', 'b->c', 'c->a', 'e->e'],
  )
})
