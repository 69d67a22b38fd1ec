/**
 * Team server throughput and latency for ESC's open→read flow (POST …/open, then GET …/open/{id}) with 50
 * concurrent clients on 127.0.0.1, on SQLite and on PostgreSQL, compared with a bare Fastify route on the same
 * machine. The server runs as the real `node server/main.ts` child process; autocannon drives it from this
 * process. Each run lasts BENCH_SECONDS (default 8). PostgreSQL runs when ENVELOPE_TEST_PG_URL is set.
 *
 * Prints `name: value unit` lines. Latency is per HTTP request; one open = two requests.
 * Targets (2 cores, otherwise idle machine): ≥ 1,000 opens/s and p99 < 50 ms. The machine load is printed with
 * the figures because autocannon, the server and PostgreSQL share those 2 cores with whatever else runs.
 * BENCH_BASELINE=<another checkout of envelope> also runs that checkout's server right after this one's on each
 * backend and prints the ratio (this / baseline), both measured under the same machine load.
 */
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import autocannon from 'autocannon'
import pg from 'pg'

const ROOT = new URL('../', import.meta.url).pathname
const MAIN_OURS = join(ROOT, 'server/main.ts')
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8)
const CONNECTIONS = 50
const ORG = 'bench'

function startChild(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env })
  let out = ''
  let err = ''
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m) resolve({ child, url: m[1]! })
    })
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    child.on('exit', (code) => reject(new Error(`child exited (${code}): ${out}${err}`)))
  })
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null) return
  const done = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  await done
}

interface Result {
  rps: number
  p50: number
  p99: number
  errors: number
  non2xx: number
}

async function cannon(opts: autocannon.Options): Promise<Result> {
  const r = await autocannon({ connections: CONNECTIONS, duration: SECONDS, ...opts })
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx }
}

async function bare(): Promise<Result> {
  const code = `
    import Fastify from 'fastify'
    const app = Fastify({ logger: false })
    app.get('/ok', async () => ({ ok: true }))
    const a = await app.listen({ port: 0, host: '127.0.0.1' })
    console.log('listening on ' + a)
    process.on('SIGTERM', () => app.close().then(() => process.exit(0)))`
  const { child, url } = await startChild(['--input-type=module', '-e', code])
  try {
    return await cannon({ url: `${url}/ok` })
  } finally {
    await stop(child)
  }
}

async function api(url: string, token: string, method: string, path: string, body?: string) {
  const r = await fetch(url + path, { method, headers: { authorization: `token ${token}`, 'content-type': 'application/json' }, ...(body ? { body } : {}) })
  if (r.status >= 400) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`)
  return r
}

const BASE = `values:
  region: eu-west-1
  db:
    host: db.internal
    port: 5432
    password:
      fn::secret: base-password-value
${Array.from({ length: 20 }, (_, i) => `  key${i}: value-${i}`).join('\n')}
`
const APP = `imports:
  - infra/base
values:
  url: postgres://app@\${db.host}:\${db.port}/app
  apiKey:
    fn::secret: app-api-key-value
  environmentVariables:
    DATABASE_URL: \${url}
    DB_PASSWORD: \${db.password}
    API_KEY: \${apiKey}
    REGION: \${region}
  pulumiConfig:
    aws:region: \${region}
`

const BASELINE_MAIN = process.env.BENCH_BASELINE ? join(process.env.BENCH_BASELINE, 'server/main.ts') : undefined

async function serverRun(label: string, db: string, extra: string[], dir: string, entry = MAIN_OURS): Promise<Result> {
  const kek = join(dir, `kek-${label}`)
  spawnSync(process.execPath, [entry, '--generate-kek', kek])
  const common = ['--db', db, '--kek-file', kek, ...extra]
  const boot = spawnSync(process.execPath, [entry, '--bootstrap-admin', 'bench', '--org', ORG, ...common], { encoding: 'utf8' })
  if (boot.status !== 0) throw new Error(`bootstrap failed: ${boot.stderr}`)
  const token = boot.stdout.trim()
  const { child, url } = await startChild([entry, '--port', '0', '--log-level', 'silent', ...common])
  try {
    const e = (p: string) => `/api/esc/environments/${ORG}/${p}`
    await api(url, token, 'POST', `/api/esc/environments/${ORG}`, JSON.stringify({ project: 'infra', name: 'base' }))
    await api(url, token, 'PATCH', e('infra/base'), BASE)
    await api(url, token, 'POST', `/api/esc/environments/${ORG}`, JSON.stringify({ project: 'apps', name: 'web' }))
    await api(url, token, 'PATCH', e('apps/web'), APP)
    const check = (await (await api(url, token, 'POST', `${e('apps/web')}/open`)).json()) as { id: string }
    const read = await (await api(url, token, 'GET', `${e('apps/web')}/open/${check.id}`)).text()
    if (!read.includes('base-password-value')) throw new Error('open did not return the evaluated secret')
    return await cannon({
      url,
      headers: { authorization: `token ${token}` },
      requests: [
        {
          method: 'POST',
          path: `${e('apps/web')}/open`,
          onResponse: (_status: number, body: string, context: Record<string, unknown>) => {
            try {
              context.id = (JSON.parse(body) as { id: string }).id
            } catch {
              context.id = 'none'
            }
          },
        },
        {
          method: 'GET',
          setupRequest: (req: autocannon.Request, context: Record<string, unknown>) => ({ ...req, path: `${e('apps/web')}/open/${String(context.id)}` }),
        },
      ] as autocannon.Request[],
    })
  } finally {
    await stop(child)
  }
}

function print(name: string, r: Result, bareRps: number) {
  console.log(`server.${name}.open_read.opens: ${(r.rps / 2).toFixed(0)} opens/s`)
  console.log(`server.${name}.open_read.requests: ${r.rps.toFixed(0)} req/s`)
  console.log(`server.${name}.open_read.p50: ${r.p50} ms`)
  console.log(`server.${name}.open_read.p99: ${r.p99} ms`)
  console.log(`server.${name}.open_read.errors: ${r.errors + r.non2xx} responses`)
  console.log(`server.${name}.ratio_to_bare_fastify: ${(r.rps / bareRps).toFixed(3)} x`)
  console.log(`server.${name}.meets_target: ${r.rps / 2 >= 1000 && r.p99 < 50 ? 1 : 0} bool`)
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'envelope-bench-'))
  // Figures depend on what else the machine runs: say so next to them.
  console.log(`server.machine.cores: ${cpus().length} cores`)
  console.log(`server.machine.load_before: ${loadavg()[0]!.toFixed(2)} load`)
  try {
    // The bare route is measured right before each server run, so both see the same machine load.
    const b = await bare()
    console.log(`server.bare_fastify.requests: ${b.rps.toFixed(0)} req/s`)
    console.log(`server.bare_fastify.p99: ${b.p99} ms`)
    const sqlite = await serverRun('sqlite', `sqlite:${join(dir, 'bench.db')}`, [], dir)
    print('sqlite', sqlite, b.rps)
    if (BASELINE_MAIN) {
      const base = await serverRun('sqlite-base', `sqlite:${join(dir, 'bench-base.db')}`, [], dir, BASELINE_MAIN)
      print('sqlite_baseline', base, b.rps)
      console.log(`server.sqlite.ratio_to_baseline: ${(sqlite.rps / base.rps).toFixed(3)} x (p99 ${sqlite.p99} vs ${base.p99} ms)`)
    }
    const pgUrl = process.env.ENVELOPE_TEST_PG_URL
    if (pgUrl) {
      const schema = 'bench_' + randomBytes(4).toString('hex')
      try {
        const b2 = await bare()
        console.log(`server.bare_fastify_before_postgres.requests: ${b2.rps.toFixed(0)} req/s`)
        const pgr = await serverRun('pg', pgUrl, ['--pg-schema', schema], dir)
        print('postgres', pgr, b2.rps)
        if (BASELINE_MAIN) {
          const base = await serverRun('pg-base', pgUrl, ['--pg-schema', `${schema}_base`], dir, BASELINE_MAIN)
          print('postgres_baseline', base, b2.rps)
          console.log(`server.postgres.ratio_to_baseline: ${(pgr.rps / base.rps).toFixed(3)} x (p99 ${pgr.p99} vs ${base.p99} ms)`)
          const c = new pg.Client({ connectionString: pgUrl })
          await c.connect()
          await c.query(`DROP SCHEMA IF EXISTS ${schema}_base CASCADE`)
          await c.end()
        }
        // Two stateless processes on the same database (what a load balancer would spread over).
        const schema2 = schema + '_w2'
        try {
          const b3 = await bare()
          console.log(`server.bare_fastify_before_postgres_2workers.requests: ${b3.rps.toFixed(0)} req/s`)
          print('postgres_2workers', await serverRun('pg2', pgUrl, ['--pg-schema', schema2, '--workers', '2'], dir), b3.rps)
        } finally {
          const c = new pg.Client({ connectionString: pgUrl })
          await c.connect()
          await c.query(`DROP SCHEMA IF EXISTS ${schema2} CASCADE`)
          await c.end()
        }
      } finally {
        const c = new pg.Client({ connectionString: pgUrl })
        await c.connect()
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
        await c.end()
      }
    } else {
      console.log('server.postgres.open_read.opens: skipped (ENVELOPE_TEST_PG_URL not set) n/a')
    }
  } finally {
    console.log(`server.machine.load_after: ${loadavg()[0]!.toFixed(2)} load`)
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
