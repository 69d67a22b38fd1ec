/**
 * `npm run server -- [options]`: the Envelope team server.
 *
 *   --port <n>                 ENVELOPE_PORT (default 8080; 0 = any free port)
 *   --host <addr>              ENVELOPE_HOST (default 127.0.0.1)
 *   --db <url>                 ENVELOPE_DATABASE_URL: sqlite:<file> or a file path (default sqlite:envelope-server.db),
 *                              or postgres://user:pass@host:port/db
 *   --pg-schema <name>         ENVELOPE_PG_SCHEMA: PostgreSQL schema to create and use
 *   --kek-file <file>          ENVELOPE_KEK_FILE: key-encryption key (32 bytes, base64 or hex); or ENVELOPE_KEK=<base64>
 *   --previous-kek-file <file> (repeatable) ENVELOPE_KEK_PREVIOUS=<base64>[,<base64>]: old KEKs still readable
 *   --kms-command <cmd>        ENVELOPE_KMS_COMMAND: external KMS (`<cmd> wrap|unwrap|key-id`, base64 stdin/stdout)
 *   --workers <n>              ENVELOPE_WORKERS: processes sharing the port (node:cluster; default 1)
 *   --log-level <lvl>          ENVELOPE_LOG_LEVEL (default info; "silent" for none)
 *   --body-limit <bytes>       default 1048576
 *   --sdk-compat 0.12|0.14     status of create/delete (200 for npm @pulumi/esc-sdk 0.12.x, 204 for 0.14)
 *   --trust-proxy              behind a load balancer: client address from X-Forwarded-For (rate limit, audit)
 * One-off commands (run, print, exit):
 *   --generate-kek <file>      write a new random KEK (mode 0600)
 *   --bootstrap-admin [login]  create a site administrator (default "admin") and print a token for it once;
 *                              with --org <name> also create that organization
 *   --rewrap-keys              re-wrap every data key with the current KEK (KEK rotation)
 * ENVELOPE_BOOTSTRAP_TOKEN=<token>: on a database with no users, create site administrator "admin" with this token.
 */
import cluster from 'node:cluster'
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { openDriver } from './db/driver.ts'
import { SqlRepository } from './db/repository.ts'
import { DataKeys, KeyRing, generateKekText } from './keys.ts'
import { buildServer } from './app.ts'
import { hashToken, mintToken } from './auth.ts'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    db: { type: 'string' },
    'pg-schema': { type: 'string' },
    'kek-file': { type: 'string' },
    'previous-kek-file': { type: 'string', multiple: true },
    'kms-command': { type: 'string' },
    workers: { type: 'string' },
    'log-level': { type: 'string' },
    'body-limit': { type: 'string' },
    'sdk-compat': { type: 'string' },
    'trust-proxy': { type: 'boolean' },
    'generate-kek': { type: 'string' },
    'bootstrap-admin': { type: 'boolean' },
    org: { type: 'string' },
    'rewrap-keys': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
})

const env = process.env
const fail = (msg: string): never => {
  process.stderr.write(`envelope-server: ${msg}\n`)
  process.exit(2)
}

async function main() {
  if (values.help) {
    const { readFileSync } = await import('node:fs')
    const src = readFileSync(new URL(import.meta.url), 'utf8')
    process.stdout.write(src.slice(src.indexOf('/**') + 3, src.indexOf('*/')).replace(/^ \* ?/gm, '') + '\n')
    return
  }
  if (values['generate-kek']) {
    writeFileSync(values['generate-kek'], generateKekText() + '\n', { mode: 0o600, flag: 'wx' })
    process.stdout.write(`wrote a new key-encryption key to ${values['generate-kek']}\n`)
    return
  }
  const dbUrl = values.db ?? env.ENVELOPE_DATABASE_URL ?? 'sqlite:envelope-server.db'
  const pgSchema = values['pg-schema'] ?? env.ENVELOPE_PG_SCHEMA
  const port = Number(values.port ?? env.ENVELOPE_PORT ?? 8080)
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid --port "${values.port ?? env.ENVELOPE_PORT}"`)
  const host = values.host ?? env.ENVELOPE_HOST ?? '127.0.0.1'
  const workers = Number(values.workers ?? env.ENVELOPE_WORKERS ?? 1)
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) fail('--workers must be between 1 and 64')
  const compatRaw = values['sdk-compat'] ?? env.ENVELOPE_SDK_COMPAT ?? '0.12'
  if (compatRaw !== '0.12' && compatRaw !== '0.14') fail('--sdk-compat must be 0.12 or 0.14')
  const compat = compatRaw as '0.12' | '0.14'
  const bodyLimit = Number(values['body-limit'] ?? 1048576)
  if (!Number.isInteger(bodyLimit) || bodyLimit < 1024) fail('--body-limit must be a whole number of bytes ≥ 1024')

  if (cluster.isPrimary && workers > 1 && !values['bootstrap-admin'] && !values['rewrap-keys']) {
    if (!/^postgres/.test(dbUrl)) process.stderr.write('envelope-server: note: several workers on one SQLite file serialise writes; PostgreSQL scales better\n')
    for (let i = 0; i < workers; i++) cluster.fork()
    let announced = false
    cluster.on('listening', (_w, addr) => {
      if (announced) return
      announced = true
      process.stdout.write(`envelope-server listening on http://${addr.address ?? host}:${addr.port} (${workers} workers)\n`)
    })
    let stopping = false
    const stopAll = () => {
      stopping = true
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM')
      setTimeout(() => process.exit(0), 2000).unref()
      cluster.on('exit', () => Object.keys(cluster.workers ?? {}).length === 0 && process.exit(0))
    }
    process.once('SIGTERM', stopAll)
    process.once('SIGINT', stopAll)
    cluster.on('exit', (w, code) => {
      if (stopping) return
      process.stderr.write(`envelope-server: worker ${w.process.pid} exited (${code}); starting another\n`)
      cluster.fork()
    })
    return
  }

  const keys = new DataKeys(
    await KeyRing.fromOptions({
      ...((values['kek-file'] ?? env.ENVELOPE_KEK_FILE) ? { kekFile: values['kek-file'] ?? env.ENVELOPE_KEK_FILE } : {}),
      previousKekFiles: [...(values['previous-kek-file'] ?? []), ...(env.ENVELOPE_PREVIOUS_KEK_FILES ?? '').split(',').filter(Boolean)],
      ...(env.ENVELOPE_KEK ? { kekEnv: env.ENVELOPE_KEK } : {}),
      ...(env.ENVELOPE_KEK_PREVIOUS ? { previousKekEnv: env.ENVELOPE_KEK_PREVIOUS } : {}),
      ...((values['kms-command'] ?? env.ENVELOPE_KMS_COMMAND) ? { kmsCommand: values['kms-command'] ?? env.ENVELOPE_KMS_COMMAND } : {}),
    }),
  )
  const repo = await SqlRepository.open(openDriver(dbUrl, pgSchema ? { pgSchema } : {}))

  if (values['bootstrap-admin']) {
    const login = positionals[0] ?? 'admin'
    let user = await repo.getUserByLogin(login)
    if (user && !user.siteAdmin) fail(`user "${login}" exists and is not a site administrator`)
    user ??= await repo.createUser({ login, siteAdmin: true })
    if (values.org) {
      await repo.createOrg(values.org)
      await repo.setOrgMember(values.org, user.id, 'admin')
    }
    const token = mintToken()
    const t = await repo.createToken(user.id, hashToken(token), { description: 'bootstrap', expires: null })
    process.stdout.write(`${token}\n`)
    process.stderr.write(`created token ${t.id} for site administrator "${login}"; it is shown only once\n`)
    await repo.close()
    return
  }
  if (values['rewrap-keys']) {
    const r = await keys.rewrapAll(repo)
    process.stdout.write(`re-wrapped ${r.rewrapped} of ${r.total} data keys with ${keys.keyRing.current.id}\n`)
    await repo.close()
    return
  }
  if (env.ENVELOPE_BOOTSTRAP_TOKEN && (await repo.countUsers()) === 0) {
    const user = await repo.createUser({ login: 'admin', siteAdmin: true })
    await repo.createToken(user.id, hashToken(env.ENVELOPE_BOOTSTRAP_TOKEN), { description: 'bootstrap (ENVELOPE_BOOTSTRAP_TOKEN)', expires: null })
  }

  const level = values['log-level'] ?? env.ENVELOPE_LOG_LEVEL ?? 'info'
  const app = await buildServer({
    repo,
    keys,
    logLevel: level === 'silent' ? false : level,
    bodyLimit,
    sdkCompat: compat,
    trustProxy: values['trust-proxy'] === true || env.ENVELOPE_TRUST_PROXY === '1',
  })
  const address = await app.listen({ port, host })
  // One line on stdout for scripts: the URL (port 0 resolves to the real port).
  if (!cluster.isWorker) process.stdout.write(`envelope-server listening on ${address}\n`)
  const stop = async () => {
    await app.close()
    await repo.close()
    process.exit(0)
  }
  process.once('SIGTERM', () => void stop())
  process.once('SIGINT', () => void stop())
}

main().catch((err: unknown) => fail((err as Error).message))
