/**
 * `envelope run <env> -- true` wall time vs bare `node -e 0` vs `dotenvx run -f .env -- true`, on the same
 * 50 variables (10 of them secrets), median of N runs each after warm-up. Runs under a real Secret Service
 * (re-executes itself through test/with-keyring.sh when needed), the way users run it.
 * `envelope run` as users get it: a run opens the environment itself, and when another run came within the
 * idle time (15 min) it also starts the agent (the store's key is in the keychain), which serves the runs
 * after it. Also measured: the run that starts the agent, and runs without one (a one-off run, which opens
 * the environment itself and starts nothing, costs the same as ENVELOPE_NO_AGENT=1).
 * Targets: envelope run adds < 60 ms over bare node startup; faster than dotenvx.
 * BENCH_BASELINE=<another checkout of envelope, built> also measures that checkout's run, interleaved with this
 * one's, and prints the ratios (this / baseline): how a change moved start-up, free of the machine's drift.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { reexecInKeyring, root } from './keyring.ts'

reexecInKeyring(import.meta.url)

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
// the baseline checkout, with its own data folder holding the same environment
const baseRoot = process.env.BENCH_BASELINE
const baseBin = baseRoot ? join(baseRoot, 'bin', 'envelope') : undefined
const baseEnv = { ENVELOPE_DATA_DIR: join(work, 'base-data') }
if (baseRoot && baseBin) {
  must(process.execPath, [join(baseRoot, 'electron', 'cli', 'build.ts')])
  must(process.execPath, [baseBin, 'import', 'bench/vars', envFile], baseEnv)
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** CPU time (user + system, ms) of this process's waited-for children, from /proc (10 ms ticks). */
function childrenCpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8')
    .replace(/^.*\) /, '')
    .split(' ')
  // after the command name: state is field 3, so cutime/cstime (fields 16/17) are at 13/14
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100
}

interface Case {
  name: string
  cmd: string
  args: string[]
  env?: Record<string, string>
  /** untimed, before each timed run */
  before?: () => void
  /** untimed, after each timed run */
  after?: () => void
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
      c.before?.()
      const cpu0 = childrenCpuMs()
      const t = process.hrtime.bigint()
      must(c.cmd, c.args, c.env)
      walls.get(c.name)!.push(Number(process.hrtime.bigint() - t) / 1e6)
      cpus.set(c.name, cpus.get(c.name)! + childrenCpuMs() - cpu0)
      c.after?.()
    }
  }
  return new Map(cases.map((c) => [c.name, { wall: median(walls.get(c.name)!), cpu: cpus.get(c.name)! / N }]))
}

const agentRunning = (): boolean => spawnSync(process.execPath, [bin, 'agent', 'status'], { env, cwd: work }).status === 0
/** waits (untimed) for the agent a first run started, so that its start-up does not slow the next case */
function agentReady(): void {
  for (const end = Date.now() + 30_000; !agentRunning();) if (Date.now() > end) throw new Error('the agent did not start')
}
const run = [process.execPath, [bin, 'run', 'bench/vars', '--', 'true']] as const
try {
  const r = measure([
    { name: 'node', cmd: process.execPath, args: ['-e', '0'] },
    // as users get it: served by the agent an earlier run started (the warm-up's)
    { name: 'ours', cmd: run[0], args: [...run[1]] },
    { name: 'noagent', cmd: run[0], args: [...run[1]], env: { ENVELOPE_NO_AGENT: '1' } },
    { name: 'source', cmd: run[0], args: [...run[1]], env: { ENVELOPE_CLI_SOURCE: '1', ENVELOPE_NO_AGENT: '1' } },
    // no V8 code cache (its folder cannot be created): what the first run after a build costs
    { name: 'nocache', cmd: run[0], args: [...run[1]], env: { XDG_CACHE_HOME: join(envFile, 'no-cache'), ENVELOPE_NO_AGENT: '1' } },
    { name: 'dotenvx', cmd: dotenvx, args: ['run', '-q', '-f', envFile, '--', 'true'] },
    ...(baseBin
      ? [
          { name: 'base', cmd: process.execPath, args: [baseBin, 'run', 'bench/vars', '--', 'true'], env: baseEnv },
          { name: 'base-noagent', cmd: process.execPath, args: [baseBin, 'run', 'bench/vars', '--', 'true'], env: { ...baseEnv, ENVELOPE_NO_AGENT: '1' } },
        ]
      : []),
  ])
  // apart, so that the agent the cases above use has been serving for a while (as for a user)
  const r1 = measure([
    { name: 'node', cmd: process.execPath, args: ['-e', '0'] },
    // no agent running, another run seconds before: opens the environment itself, then starts the agent
    { name: 'first', cmd: run[0], args: [...run[1]], before: () => must(process.execPath, [bin, 'agent', 'stop']), after: agentReady },
  ])
  type Figure = { wall: number; cpu: number }
  const [node, ours, noagent, source, nocache, theirs] = ['node', 'ours', 'noagent', 'source', 'nocache', 'dotenvx'].map((k) => r.get(k)!) as [
    Figure,
    Figure,
    Figure,
    Figure,
    Figure,
    Figure,
  ]
  const [node1, first] = [r1.get('node')!, r1.get('first')!]
  const fmt = (x: number) => x.toFixed(1)
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0]
  const base = r.get('base')
  const baseNoagent = r.get('base-noagent')
  if (base && baseNoagent) {
    console.log(`baseline_checkout: ${baseRoot} path`)
    console.log(`baseline_run_true_median: ${fmt(base.wall)} ms; without agent ${fmt(baseNoagent.wall)} ms`)
    console.log(
      `envelope_run_vs_baseline_ratio: ${(ours.wall / base.wall).toFixed(3)} x (served by the agent); overhead over node ${fmt(ours.wall - node.wall)} vs ${fmt(base.wall - node.wall)} ms`,
    )
    console.log(
      `envelope_run_without_agent_vs_baseline_ratio: ${(noagent.wall / baseNoagent.wall).toFixed(3)} x; overhead over node ${fmt(noagent.wall - node.wall)} vs ${fmt(baseNoagent.wall - node.wall)} ms`,
    )
    console.log(`envelope_run_cpu_vs_baseline_ratio: ${(ours.cpu / base.cpu).toFixed(3)} x; without agent ${(noagent.cpu / baseNoagent.cpu).toFixed(3)} x`)
  }
  console.log(`runs_per_figure: ${N} count`)
  console.log(`machine_load_1min: ${load} runnable`)
  console.log(`node_bare_startup_median: ${fmt(node.wall)} ms`)
  console.log(`envelope_run_true_median: ${fmt(ours.wall)} ms (the agent started by an earlier run serves it)`)
  console.log(`envelope_run_true_starting_agent_median: ${fmt(first.wall)} ms (the run that starts the agent: opens the environment itself, then starts one)`)
  console.log(`envelope_run_true_without_agent_median: ${fmt(noagent.wall)} ms (a one-off run; ENVELOPE_NO_AGENT=1; agent autostart off)`)
  console.log(`envelope_run_true_from_ts_sources_median: ${fmt(source.wall)} ms (when the bundle is stale or missing; no agent)`)
  console.log(`envelope_run_true_without_code_cache_median: ${fmt(nocache.wall)} ms (first run after a build; no agent)`)
  console.log(`dotenvx_run_true_median: ${fmt(theirs.wall)} ms`)
  console.log(`envelope_run_overhead_over_node: ${fmt(ours.wall - node.wall)} ms (target < 60)`)
  console.log(`envelope_run_overhead_over_node_starting_agent: ${fmt(first.wall - node1.wall)} ms (bare node ${fmt(node1.wall)} ms in that round)`)
  console.log(`envelope_run_overhead_over_node_without_agent: ${fmt(noagent.wall - node.wall)} ms`)
  console.log(`envelope_vs_dotenvx_ratio: ${(ours.wall / theirs.wall).toFixed(2)} x (target < 1)`)
  console.log(`envelope_starting_agent_vs_dotenvx_ratio: ${(first.wall / theirs.wall).toFixed(2)} x`)
  console.log(`envelope_without_agent_vs_dotenvx_ratio: ${(noagent.wall / theirs.wall).toFixed(2)} x`)
  console.log(`node_bare_cpu_mean: ${fmt(node.cpu)} ms`)
  console.log(`envelope_run_true_cpu_mean: ${fmt(ours.cpu)} ms`)
  console.log(`envelope_run_true_without_agent_cpu_mean: ${fmt(noagent.cpu)} ms`)
  console.log(`envelope_run_true_from_ts_sources_cpu_mean: ${fmt(source.cpu)} ms`)
  console.log(`envelope_run_true_without_code_cache_cpu_mean: ${fmt(nocache.cpu)} ms`)
  console.log(`dotenvx_run_true_cpu_mean: ${fmt(theirs.cpu)} ms`)
  console.log(`envelope_run_cpu_overhead_over_node: ${fmt(ours.cpu - node.cpu)} ms`)
  console.log(`envelope_run_cpu_overhead_over_node_without_agent: ${fmt(noagent.cpu - node.cpu)} ms`)
  // every process's CPU time is inflated alike by a busy or slow machine: scaling by bare node's CPU time
  // estimates the overhead on a machine where `node -e 0` costs QUIET_NODE_MS (a typical quiet desktop)
  const scaled = (f: Figure) => fmt(((f.cpu - node.cpu) * QUIET_NODE_MS) / node.cpu)
  console.log(`envelope_run_overhead_scaled_to_${QUIET_NODE_MS}ms_node: ${scaled(ours)} ms (CPU overhead x ${QUIET_NODE_MS} ms / bare node CPU; estimate)`)
  console.log(`envelope_run_overhead_without_agent_scaled_to_${QUIET_NODE_MS}ms_node: ${scaled(noagent)} ms (estimate)`)
} finally {
  spawnSync(process.execPath, [bin, 'agent', 'stop'], { env, cwd: work })
  if (baseBin) spawnSync(process.execPath, [baseBin, 'agent', 'stop'], { env: { ...env, ...baseEnv }, cwd: work })
  rmSync(work, { recursive: true, force: true })
}
