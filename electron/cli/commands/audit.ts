/** `envelope audit`: the local audit log (who did what to which environment; never secret values). */
import { defineCommand } from '../registry.ts'

defineCommand({
  name: 'audit',
  commands: ['audit'],
  register(root, _env, cli) {
    root
      .command('audit')
      .description('show the audit log, newest first')
      .option('-e, --env <env>', 'only events about this environment (project/env)')
      .option('-n, --limit <n>', 'at most this many events', '50')
      .option('-o, --output <format>', 'text or json', 'text')
      .action(async (opts: { env?: string; limit: string; output: string }) => {
        const { UserError } = await import('../../../shared/errors.ts')
        const limit = Number(opts.limit)
        if (!Number.isSafeInteger(limit) || limit < 1)
          throw new UserError('invalid_input', `--limit must be a positive integer, got ${JSON.stringify(opts.limit)}`)
        const events = await (await cli.store()).audit({ ...(opts.env ? { target: opts.env } : {}), limit })
        if (opts.output === 'json') {
          cli.out(JSON.stringify(events, null, 2) + '\n')
          return
        }
        const width = Math.max(10, ...events.map((e) => e.action.length))
        for (const e of events) {
          const detail = e.detail
            ? ' ' +
              Object.entries(e.detail)
                .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
                .join(' ')
            : ''
          cli.out(`${e.time}  ${e.user}  ${e.action.padEnd(width)} ${e.result.padEnd(6)} ${e.target}${detail}\n`)
        }
      })
  },
})
