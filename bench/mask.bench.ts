/**
 * Output masking throughput (issue 12, rule 12): `envelope run` of a command printing 2 MB with 20 secrets,
 * one secret per line, masked vs `--no-mask`, median wall time of N interleaved runs each, through the real
 * CLI under a real Secret Service (re-executes itself through test/with-keyring.sh when needed). Also the
 * masker alone (in process, MB/s) so a slow machine's process start-up does not hide it.
 * Target: masked within 2× of unmasked (`mask_vs_no_mask_ratio` < 2).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { reexecInKeyring, root } from './keyring.ts'
import { SecretMasker } from '../electron/services/launcher/mask.ts'

reexecInKeyring(import.meta.url)

const N = Number(process.env.BENCH_RUNS ?? 7)
const SIZE = 2 * 1024 * 1024
const bin = join(root, 'bin', 'envelope')
const work = mkdtempSync(join(tmpdir(), 'envelope-mask-bench-'))
const env = { ...process.env, ENVELOPE_DATA_DIR: join(work, 'data'), NO_COLOR: '1', ENVELOPE_NO_AGENT: '1' }

const secrets = Array.from({ length: 20 }, (_, i) => `sk_live_${i}_${'Q7x'.repeat(8)}_${i}`)
const envFile = join(work, '.env')
writeFileSync(envFile, secrets.map((s, i) => `TOKEN_${i}=${s}`).join('\n') + '\n')
const lines: string[] = []
for (let size = 0, k = 0; size < SIZE; k++) {
  const l = `${new Date(1e12 + k * 1000).toISOString()} INFO request ${k} authorized with token=${secrets[k % secrets.length]} status=200\n`
  lines.push(l)
  size += l.length
}
const data = Buffer.from(lines.join(''))
const outputFile = join(work, 'output.log')
writeFileSync(outputFile, data)

function must(args: string[]): void {
  const r = spawnSync(process.execPath, [bin, ...args], { env, cwd: work, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`envelope ${args.join(' ')} failed: ${r.stderr}`)
}
must(['import', 'bench/mask', envFile, '--all-secret'])

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

/** one `envelope run`, its wall time in ms; checks the output (masked: no secret left, one mask per line) */
function run(masked: boolean): number {
  const t = performance.now()
  const r = spawnSync(process.execPath, [bin, 'run', ...(masked ? [] : ['--no-mask']), 'bench/mask', '--', 'cat', outputFile], {
    env,
    cwd: work,
    maxBuffer: 64 * SIZE,
  })
  const ms = performance.now() - t
  if (r.status !== 0) throw new Error(`run failed: ${r.stderr.toString()}`)
  const out = r.stdout.toString('utf8')
  if (masked && secrets.some((s) => out.includes(s))) throw new Error('a secret was printed in clear')
  if (!masked && out.length !== data.length) throw new Error('unmasked output differs')
  return ms
}

run(true)
run(false)
const masked: number[] = []
const plain: number[] = []
for (let i = 0; i < N; i++) {
  masked.push(run(true))
  plain.push(run(false))
}

// the masker alone, 64 KiB chunks like a pipe's
const inProcess: number[] = []
for (let i = 0; i < N; i++) {
  const t = performance.now()
  const m = new SecretMasker(secrets)
  for (let o = 0; o < data.length; o += 65536) m.push(data.subarray(o, o + 65536))
  m.flush()
  inProcess.push(performance.now() - t)
}

const fmt = (x: number) => x.toFixed(1)
const mm = median(masked)
const pm = median(plain)
console.log(`output: ${(data.length / 1024 / 1024).toFixed(1)} MiB, ${lines.length} lines, ${secrets.length} secrets, one per line`)
console.log(`run_masked_median: ${fmt(mm)} ms`)
console.log(`run_no_mask_median: ${fmt(pm)} ms`)
console.log(`mask_vs_no_mask_ratio: ${(mm / pm).toFixed(3)} x (target < 2)`)
console.log(`masker_in_process_median: ${fmt(median(inProcess))} ms (${fmt(data.length / 1024 / 1024 / (median(inProcess) / 1000))} MiB/s)`)
console.log(`runs_per_figure: ${N} count`)
console.log(`machine_load_1min: ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]} runnable`)
rmSync(work, { recursive: true, force: true })
