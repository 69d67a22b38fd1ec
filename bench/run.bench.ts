/**
 * `envelope run <env> -- true` wall time vs bare `node -e 0` vs `dotenvx run -f .env -- true`, on the same
 * 50 variables (10 of them secrets), median of N runs each after warm-up. Runs under a real Secret Service
 * (re-executes itself through test/with-keyring.sh when needed), the way users run it.
 * Also with the agent (`envelope agent start`: the store stays unlocked in a background process).
 * Targets: envelope run adds < 60 ms over bare node startup; faster than dotenvx.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
if (!process.env.ENVELOPE_IN_KEYRING) {
  const r = spawnSync('bash', [join(root, 'test', 'with-keyring.sh'), process.execPath, fileURLToPath(import.meta.url)], { stdio: ['ignore', 'inherit', 'pipe'] })
  if (r.status !== 0) process.stderr.write(r.stderr)
  process.exit(r.status ?? 1)
}

const N = Number(process.env.BENCH_RUNS ?? 21)
/** bare `node -e 0` CPU time on a typical quiet desktop (Node 24, x64), for the scaled estimate */
const QUIET_NODE_MS = Number(process.env.BENCH_QUIET_NODE_MS ?? 40)
const bin = join(root, 'bin', 'envelope')
const dotenvx = join(root, 'node_modules', '.bin', 'dotenvx')
const work = mkdtempSync(join(tmpdir(), 'envelope-run-bench-'))
const dataDir = join(work, 'data')
const env = { ...process.env, ENVELOPE_DATA_DIR: dataDir, NO_COLOR: '1' }

// 50 variables: 10 secrets (by name), 40 plain, mixed lengths
const lines: string[] = []
for (let i = 0; i < 50; i++) {
  const secret = i % 5 === 0
  lines.push(`${secret ? `SERVICE_${i}_TOKEN` : `SETTING_${i}`}=${secret ? `tok_${i}_${'x'.repeat(24)}` : `value-${i}-${'v'.repeat(i % 17)}`}`)
}
const envFile = join(work, '.env')
writeFileSync(envFile, lines.join('\n') + '\n')

function must(cmd: string, args: string[], extraEnv: Record<string, string> = {}): void {
  const r = spawnSync(cmd, args, { env: { ...env, ...extraEnv }, cwd: work, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`)
}
// the shipped fast path: the bundled CLI (bin/envelope falls back to the sources when it is stale)
must(process.execPath, [join(root, 'electron', 'cli', 'build.ts')])
must(process.execPath, [bin, 'import', 'bench/vars', envFile])

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** CPU time (user + system, ms) of this process's waited-for children, from /proc (10 ms ticks). */
function childrenCpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ')
  // after the command name: state is field 3, so cutime/cstime (fields 16/17) are at 13/14
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100
}

interface Case {
  name: string
  cmd: string
  args: string[]
  env?: Record<string, string>
}

/**
 * Median wall time and mean CPU time per case. The cases are interleaved (round-robin) so that a change
 * in machine load affects them alike; CPU time is what a busy machine distorts least.
 */
function measure(cases: Case[]): Map<string, { wall: number; cpu: number }> {
  for (const c of cases) for (let i = 0; i < 3; i++) must(c.cmd, c.args, c.env) // warm-up (page cache, compile cache)
  const walls = new Map<string, number[]>(cases.map((c) => [c.name, []]))
  const cpus = new Map<string, number>(cases.map((c) => [c.name, 0]))
  for (let i = 0; i < N; i++) {
    for (const c of cases) {
      const cpu0 = childrenCpuMs()
      const t = process.hrtime.bigint()
      must(c.cmd, c.args, c.env)
      walls.get(c.name)!.push(Number(process.hrtime.bigint() - t) / 1e6)
      cpus.set(c.name, cpus.get(c.name)! + childrenCpuMs() - cpu0)
    }
  }
  return new Map(cases.map((c) => [c.name, { wall: median(walls.get(c.name)!), cpu: cpus.get(c.name)! / N }]))
}

must(process.execPath, [bin, 'agent', 'start', '--idle', '10'])
try {
  const r = measure([
    { name: 'node', cmd: process.execPath, args: ['-e', '0'] },
    { name: 'ours', cmd: process.execPath, args: [bin, 'run', 'bench/vars', '--', 'true'], env: { ENVELOPE_NO_AGENT: '1' } },
    { name: 'agent', cmd: process.execPath, args: [bin, 'run', 'bench/vars', '--', 'true'] },
    { name: 'source', cmd: process.execPath, args: [bin, 'run', 'bench/vars', '--', 'true'], env: { ENVELOPE_CLI_SOURCE: '1' } },
    // no V8 code cache (its folder cannot be created): what the first run after a build costs
    { name: 'nocache', cmd: process.execPath, args: [bin, 'run', 'bench/vars', '--', 'true'], env: { XDG_CACHE_HOME: join(envFile, 'no-cache'), ENVELOPE_NO_AGENT: '1' } },
    { name: 'dotenvx', cmd: dotenvx, args: ['run', '-q', '-f', envFile, '--', 'true'] },
  ])
  type Figure = { wall: number; cpu: number }
  const [node, ours, agent, source, nocache, theirs] = ['node', 'ours', 'agent', 'source', 'nocache', 'dotenvx'].map((k) => r.get(k)!) as [Figure, Figure, Figure, Figure, Figure, Figure]
  const fmt = (x: number) => x.toFixed(1)
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0]
  console.log(`runs_per_figure: ${N} count`)
  console.log(`machine_load_1min: ${load} runnable`)
  console.log(`node_bare_startup_median: ${fmt(node.wall)} ms`)
  console.log(`envelope_run_true_median: ${fmt(ours.wall)} ms`)
  console.log(`envelope_run_true_from_ts_sources_median: ${fmt(source.wall)} ms (when the bundle is stale or missing)`)
  console.log(`envelope_run_true_without_code_cache_median: ${fmt(nocache.wall)} ms (first run after a build)`)
  console.log(`dotenvx_run_true_median: ${fmt(theirs.wall)} ms`)
  console.log(`envelope_run_overhead_over_node: ${fmt(ours.wall - node.wall)} ms (target < 60)`)
  console.log(`envelope_run_true_with_agent_median: ${fmt(agent.wall)} ms`)
  console.log(`envelope_run_overhead_over_node_with_agent: ${fmt(agent.wall - node.wall)} ms (target < 60)`)
  console.log(`envelope_run_with_agent_vs_dotenvx_ratio: ${(agent.wall / theirs.wall).toFixed(2)} x`)
  console.log(`envelope_vs_dotenvx_ratio: ${(ours.wall / theirs.wall).toFixed(2)} x (target < 1)`)
  console.log(`node_bare_cpu_mean: ${fmt(node.cpu)} ms`)
  console.log(`envelope_run_true_cpu_mean: ${fmt(ours.cpu)} ms`)
  console.log(`envelope_run_true_from_ts_sources_cpu_mean: ${fmt(source.cpu)} ms`)
  console.log(`envelope_run_true_without_code_cache_cpu_mean: ${fmt(nocache.cpu)} ms`)
  console.log(`dotenvx_run_true_cpu_mean: ${fmt(theirs.cpu)} ms`)
  console.log(`envelope_run_cpu_overhead_over_node: ${fmt(ours.cpu - node.cpu)} ms`)
  // every process's CPU time is inflated alike by a busy or slow machine: scaling by bare node's CPU time
  // estimates the overhead on a machine where `node -e 0` costs QUIET_NODE_MS (a typical quiet desktop)
  console.log(`envelope_run_overhead_scaled_to_${QUIET_NODE_MS}ms_node: ${fmt(((ours.cpu - node.cpu) * QUIET_NODE_MS) / node.cpu)} ms (CPU overhead x ${QUIET_NODE_MS} ms / bare node CPU; estimate)`)
} finally {
  spawnSync(process.execPath, [bin, 'agent', 'stop'], { env, cwd: work })
  rmSync(work, { recursive: true, force: true })
}
