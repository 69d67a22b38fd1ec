/**
 * Standalone web mode: `node electron/app-api/main.ts [--port N] [--data-dir DIR]` starts the services
 * and the loopback web transport and prints the URL to open (with the per-launch token). `envelope ui` calls
 * runWebUi() too. Stops on SIGINT/SIGTERM, closing the store cleanly.
 */
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createContext } from './context.ts'
import { createDispatcher } from './handlers.ts'
import { startWebTransport } from './web-transport.ts'
import type { WebTransport } from './web-transport.ts'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

export function appVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return '0.0.0'
  }
}

export interface WebUiOptions {
  port?: number
  dataDir?: string
  /** built renderer folder (default out/renderer in the repository) */
  staticDir?: string
}

export async function runWebUi(opts: WebUiOptions = {}): Promise<{ transport: WebTransport; staticDir: string; stop(): Promise<void> }> {
  const { ctx, services } = createContext({ mode: 'web', version: appVersion(), dataDir: opts.dataDir })
  const dispatcher = createDispatcher(ctx)
  const staticDir = opts.staticDir ?? join(repoRoot, 'out', 'renderer')
  const transport = await startWebTransport({
    dispatcher,
    staticDir,
    ...(opts.port !== undefined ? { port: opts.port } : {}),
  })
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await transport.close()
    services.close()
  }
  return { transport, staticDir, stop }
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const port = arg('--port')
  const dataDir = arg('--data-dir')
  const { transport, stop } = await runWebUi({ ...(port ? { port: Number(port) } : {}), ...(dataDir ? { dataDir } : {}) })
  process.stdout.write(`Envelope UI: ${transport.openUrl}\n`)
  const onSignal = () => void stop().then(() => process.exit(0))
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}
