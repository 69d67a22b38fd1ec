/**
 * `envelope ui`: the app in a browser (web mode). Starts the services and the loopback web transport
 * (127.0.0.1, random port, per-launch token) and prints the URL to open; runs until Ctrl+C.
 * For headless machines and the UI tests; the desktop window uses the same renderer over Electron IPC.
 */
import { defineCommand } from '../registry.ts'

defineCommand({
  name: 'ui',
  register(root, _env, cli) {
    root
      .command('ui')
      .description('serve the Envelope app to your browser on 127.0.0.1 and print its URL (Ctrl+C stops)')
      .option('-p, --port <port>', 'port to listen on (default: a random free port)')
      .option('--open', 'also open the URL in the default browser')
      .action(async (opts: { port?: string; open?: boolean }) => {
        const { UserError } = await import('../../../shared/errors.ts')
        let port: number | undefined
        if (opts.port !== undefined) {
          port = Number(opts.port)
          if (!Number.isSafeInteger(port) || port < 1 || port > 65535)
            throw new UserError('invalid_input', `--port must be 1-65535, got ${JSON.stringify(opts.port)}`)
        }
        const { runWebUi } = await import('../../app-api/main.ts')
        const { existsSync } = await import('node:fs')
        const { join } = await import('node:path')
        let started
        try {
          started = await runWebUi(port !== undefined ? { port } : {})
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
            throw new UserError('io', `port ${port} is already in use`, { hint: 'choose another --port, or leave it out for a random one' })
          throw err
        }
        const { transport, staticDir, stop } = started
        if (!existsSync(join(staticDir, 'index.html'))) {
          cli.err(`warning: the UI is not built (${staticDir} is missing); run \`npm run build\` first\n`)
        }
        cli.out(`Envelope UI: ${transport.openUrl}\n`)
        cli.err("Open that URL in your browser (it carries this launch's access token). Ctrl+C stops.\n")
        if (opts.open) {
          const { spawn } = await import('node:child_process')
          const [cmd, ...args] = process.platform === 'darwin' ? ['open'] : process.platform === 'win32' ? ['cmd', '/c', 'start', '""'] : ['xdg-open']
          const child = spawn(cmd as string, [...args, transport.openUrl], { stdio: 'ignore', detached: true })
          child.once('error', (e) => cli.err(`could not open a browser (${e.message}); open the URL yourself\n`))
          child.unref()
        }
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve)
          process.once('SIGTERM', resolve)
        })
        await stop()
      })
  },
})
