/**
 * Store figures at scale, through the real CLI as users run it (`bin/envelope`, a new process per command,
 * a real SQLite store in a temp folder, the KEK from a key file so the bench needs no keychain):
 *   scale.set.N         `envelope env set <env> newKey v` in an environment of N plain keys (10,000, 20,000,
 *                       40,000: linear means the 40,000 figure is about twice the 20,000 one)   target 40,000: < 1 s
 *   scale.init.secrets  `envelope env init <env> -f file` of 5,000 `fn::secret` values                target: < 2 s
 * Each figure is the median of 3 runs (wall clock), with the process's CPU time and the 1-minute load average
 * when it ran (the machine is shared: a busy one stretches wall clock, not CPU time).
 * Before: 16.6 s (40,000) / 6.4 s (20,000) for `env set`, quadratic in the yaml package's duplicate-key check.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dir = mkdtempSync(join(tmpdir(), 'envelope-bench-scale-'))
const env: NodeJS.ProcessEnv = { ...process.env, ENVELOPE_DATA_DIR: join(dir, 'data'), ENVELOPE_KEY_FILE: join(dir, 'bench.key'), ENVELOPE_NO_AGENT: '1' }
delete env.ENVELOPE_PASSPHRASE

interface Run {
  ms: number
  cpuMs: number
}

/** Runs the CLI once; its CPU time comes from the shell's `times` (user + sys of the child). */
function cli(args: string[], input?: string): Run {
  const t = performance.now()
  const r = spawnSync('bash', ['-c', 'node "$0" "$@" >/dev/null; s=$?; times >&2; exit $s', join(root, 'bin/envelope'), ...args], {
    env,
    encoding: 'utf8',
    ...(input !== undefined ? { input } : {}),
  })
  const ms = performance.now() - t
  if (r.status !== 0) throw new Error(`envelope ${args.join(' ')} failed: ${r.stderr}`)
  // `times` prints the shell's then its children's user/sys: "0m0.001s 0m0.002s\n0m1.234s 0m0.100s"
  const lines = r.stderr.trim().split('\n')
  const child = (lines[lines.length - 1] ?? '').match(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/)
  const cpuMs = child ? (Number(child[1]) * 60 + Number(child[2]) + Number(child[3]) * 60 + Number(child[4])) * 1000 : NaN
  return { ms, cpuMs }
}

function median(runs: Run[]): Run {
  const by = (k: keyof Run) => [...runs].sort((a, b) => a[k] - b[k])[Math.floor(runs.length / 2)]![k]
  return { ms: by('ms'), cpuMs: by('cpuMs') }
}

const show = (name: string, r: Run): void => console.log(`${name}: ${r.ms.toFixed(0)} ms (cpu ${r.cpuMs.toFixed(0)} ms, load ${loadavg()[0]!.toFixed(2)})`)

try {
  cli(['env', 'init', 'warm/up']) // creates the store and its key
  for (const n of [10_000, 20_000, 40_000]) {
    let yaml = 'values:\n'
    for (let i = 0; i < n; i++) yaml += `  key${i}: value-${i}\n`
    const file = join(dir, `plain-${n}.yaml`)
    writeFileSync(file, yaml)
    cli(['env', 'init', `scale/plain${n}`, '-f', file])
    const runs: Run[] = []
    for (let i = 0; i < 3; i++) runs.push(cli(['env', 'set', `scale/plain${n}`, `added${i}`, `v${i}`]))
    show(`scale.set.${n}`, median(runs))
  }
  let secrets = 'values:\n'
  for (let i = 0; i < 5000; i++) secrets += `  s${i}:\n    fn::secret: secret-value-${i}\n`
  const file = join(dir, 'secrets.yaml')
  writeFileSync(file, secrets)
  const runs: Run[] = []
  for (let i = 0; i < 3; i++) runs.push(cli(['env', 'init', `scale/secrets${i}`, '-f', file]))
  show('scale.init.secrets.5000', median(runs))
} finally {
  rmSync(dir, { recursive: true, force: true })
}
