/**
 * The layering rule: which folder may import which, as one table (docs/architecture.md shows the same table).
 *
 * Every source file belongs to the first layer whose folder contains it. An import is checked twice:
 * - a relative import must land in a layer the importer's row allows (`may`);
 * - a package import (not relative) is checked against the row's `packages`: `pure` rows allow only the
 *   listed pure libraries, `node` rows allow Node built-ins and packages, `browser` rows allow packages but
 *   no Node built-ins; `electron` is allowed only where `electron: true`.
 * Layers are matched by path prefix from the repository root (this file's parent folder), so the rule needs no
 * type information and runs in the plain lint pass. Its own tests: test/unit/lint/layers.test.ts.
 */
import { builtinModules } from 'node:module'
import { dirname, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Pure libraries the pure layers may import (no I/O, run in Node and the browser alike). */
const PURE_PACKAGES = ['yaml']

/**
 * The table. `folder` is relative to the repository root; the most specific folder wins.
 * `may`: the layers it may import (itself included when listed).
 */
export const LAYERS = [
  { layer: 'core', folder: 'shared/esc', may: ['core'], packages: 'pure', what: 'the ESC language core' },
  { layer: 'shared', folder: 'shared', may: ['shared', 'core'], packages: 'pure', what: 'models, errors, the IPC contract' },
  { layer: 'format', folder: 'shared/format', may: ['format', 'shared', 'core'], packages: 'pure', what: 'output formats' },
  {
    layer: 'domain',
    folder: 'shared/domain',
    may: ['domain', 'format', 'shared', 'core'],
    packages: 'pure',
    what: 'the use cases, over storage and key interfaces',
  },
  {
    layer: 'services',
    folder: 'electron/services',
    may: ['services', 'providers', 'domain', 'format', 'shared', 'core'],
    packages: 'node',
    what: 'the local store, keys, launcher, agent, sync client',
  },
  {
    layer: 'providers',
    folder: 'electron/providers',
    may: ['providers', 'services', 'domain', 'format', 'shared', 'core'],
    packages: 'node',
    what: 'fn::open / fn::rotate providers',
  },
  {
    layer: 'app-api',
    folder: 'electron/app-api',
    may: ['app-api', 'services', 'providers', 'domain', 'format', 'shared', 'core'],
    packages: 'node',
    what: "the app's API: IPC handlers and the loopback web transport",
  },
  {
    layer: 'cli',
    folder: 'electron/cli',
    may: ['cli', 'app-api', 'services', 'providers', 'domain', 'format', 'shared', 'core'],
    packages: 'node',
    what: 'the envelope CLI',
  },
  {
    layer: 'main',
    folder: 'electron/main',
    may: ['main', 'app-api', 'services', 'providers', 'domain', 'format', 'shared', 'core'],
    packages: 'node',
    electron: true,
    what: 'the Electron main process',
  },
  { layer: 'preload', folder: 'electron/preload', may: ['preload', 'shared'], packages: 'node', electron: true, what: 'the Electron preload' },
  { layer: 'renderer', folder: 'renderer', may: ['renderer', 'domain', 'format', 'shared', 'core'], packages: 'browser', what: 'the React UI' },
  { layer: 'server', folder: 'server', may: ['server', 'domain', 'format', 'shared', 'core'], packages: 'node', what: 'the team server' },
]

const byFolder = [...LAYERS].sort((a, b) => b.folder.length - a.folder.length)
const NODE_BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)])

/** The layer of a file (absolute path), or undefined for files outside every layer (tests, benches, configs). */
export function layerOf(file) {
  const rel = relative(ROOT, file).split(sep).join('/')
  return byFolder.find((l) => rel === l.folder || rel.startsWith(`${l.folder}/`))
}

function packageName(spec) {
  const parts = spec.split('/')
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

/** Why `spec`, imported from a file of layer `from`, breaks the table (undefined when it does not). */
export function violation(from, file, spec) {
  if (spec.startsWith('.')) {
    const to = layerOf(resolve(dirname(file), spec))
    if (!to || from.may.includes(to.layer)) return undefined
    return `${from.layer} (${from.folder}/) may not import ${to.layer} (${to.folder}/): allowed layers are ${from.may.join(', ')}`
  }
  const name = packageName(spec)
  if (name === 'electron')
    return from.electron ? undefined : `only the Electron main process and preload import electron (this is ${from.layer}, ${from.folder}/)`
  if (NODE_BUILTINS.has(spec) || NODE_BUILTINS.has(name)) {
    return from.packages === 'node'
      ? undefined
      : `${from.layer} (${from.folder}/) may not use Node built-ins such as ${spec}: it runs ${from.packages === 'pure' ? 'everywhere' : 'in the browser'}`
  }
  if (from.packages === 'pure' && !PURE_PACKAGES.includes(name)) {
    return `${from.layer} (${from.folder}/) is pure: it may import only ${PURE_PACKAGES.join(', ')} among packages, not ${name}`
  }
  return undefined
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports follow the layer table in eslint-rules/layers.js (docs/architecture.md)' },
    schema: [],
    messages: { layer: '{{why}}' },
  },
  create(context) {
    const file = context.filename
    const from = layerOf(file)
    if (!from) return {}
    const check = (node, source) => {
      if (!source || typeof source.value !== 'string') return
      const why = violation(from, file, source.value)
      if (why) context.report({ node, messageId: 'layer', data: { why } })
    }
    return {
      ImportDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
      ImportExpression: (node) => check(node, node.source.type === 'Literal' ? node.source : undefined),
    }
  },
}

export default { rules: { layers: rule } }
