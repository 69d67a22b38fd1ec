/**
 * The loopback web transport: serves the built renderer and the IPC contract to a plain browser.
 *
 * - Listens on 127.0.0.1 only, on a random port (unless one is given).
 * - A random per-launch token is required on every RPC request (`X-Envelope-Token`); the page gets it
 *   once from the URL fragment (fragments are never sent to servers or in referrers).
 * - The Host header must be the loopback address (DNS-rebinding guard); a cross-origin Origin is refused.
 * - RPC: `POST /rpc/<channel>` with a JSON body (the request object); the reply is the Reply JSON.
 */
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { extname, join, normalize, resolve, sep } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { Dispatcher } from './handlers.ts'
import type { ErrorCode } from '../../shared/errors.ts'

export const csp =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
  "font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
  "form-action 'none'; frame-ancestors 'none'"

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ttf': 'font/ttf',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
}

const statusOf: Partial<Record<ErrorCode, number>> = {
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  already_exists: 409,
  keychain_unavailable: 503,
  provider_failed: 502,
}

export interface WebTransportOptions {
  dispatcher: Dispatcher
  /** folder of the built renderer (out/renderer) */
  staticDir: string
  port?: number
  /** fixed token (tests); default random */
  token?: string
}

export interface WebTransport {
  url: string
  /** the URL to open, with the token in the fragment */
  openUrl: string
  port: number
  token: string
  close(): Promise<void>
}

const maxBody = 8 * 1024 * 1024

function send(res: ServerResponse, status: number, body: string | Buffer, type: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
    ...extra,
  })
  res.end(body)
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const parts: Buffer[] = []
    let size = 0
    req.on('data', (d: Buffer) => {
      size += d.length
      if (size > maxBody) {
        reject(new Error('request body too large'))
        req.destroy()
        return
      }
      parts.push(d)
    })
    req.on('end', () => resolvePromise(Buffer.concat(parts).toString('utf8')))
    req.on('error', reject)
  })
}

export async function startWebTransport(opts: WebTransportOptions): Promise<WebTransport> {
  const token = opts.token ?? randomBytes(32).toString('base64url')
  const tokenBuf = Buffer.from(token)
  const root = resolve(opts.staticDir)
  let port = 0

  const rpcError = (res: ServerResponse, status: number, code: ErrorCode, message: string, hint?: string): void =>
    send(res, status, JSON.stringify({ ok: false, error: { name: 'UserError', code, message, ...(hint ? { hint } : {}) } }), 'application/json')

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const host = req.headers.host ?? ''
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      send(res, 421, 'wrong host', 'text/plain')
      return
    }
    const url = new URL(req.url ?? '/', `http://${host}`)
    if (url.pathname.startsWith('/rpc/')) {
      const origin = req.headers.origin
      if (origin !== undefined && origin !== `http://127.0.0.1:${port}` && origin !== `http://localhost:${port}`) {
        rpcError(res, 403, 'forbidden', 'cross-origin request refused')
        return
      }
      if (req.method !== 'POST') {
        rpcError(res, 405, 'invalid_input', 'use POST')
        return
      }
      const given = req.headers['x-envelope-token']
      const givenBuf = Buffer.from(typeof given === 'string' ? given : '')
      if (givenBuf.length !== tokenBuf.length || !timingSafeEqual(givenBuf, tokenBuf)) {
        rpcError(res, 401, 'unauthorized', 'missing or wrong web transport token', 'open the exact URL printed by `envelope ui` (it carries the token)')
        return
      }
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
        rpcError(res, 415, 'invalid_input', 'RPC bodies must be application/json')
        return
      }
      let raw: unknown
      try {
        const text = await readBody(req)
        raw = text.length ? JSON.parse(text) : {}
      } catch (err) {
        rpcError(res, 400, 'invalid_input', `bad request body: ${(err as Error).message}`)
        return
      }
      const channel = decodeURIComponent(url.pathname.slice('/rpc/'.length))
      const t0 = performance.now()
      const reply = await opts.dispatcher.dispatch(channel, raw)
      const t1 = performance.now()
      const status = reply.ok ? 200 : (statusOf[reply.error.code ?? 'internal'] ?? 500)
      const json = JSON.stringify(reply)
      // where the time of a call goes (read by bench/ui.bench.ts through Resource Timing; durations only)
      const timing = `dispatch;dur=${(t1 - t0).toFixed(1)}, encode;dur=${(performance.now() - t1).toFixed(1)}`
      send(res, status, json, 'application/json', { 'Server-Timing': timing })
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'method not allowed', 'text/plain')
      return
    }
    // static files of the built renderer; unknown paths fall back to index.html (single page app)
    let rel = decodeURIComponent(url.pathname)
    if (rel === '/' || rel === '') rel = '/index.html'
    let file = normalize(join(root, rel))
    if (file !== root && !file.startsWith(root + sep)) {
      send(res, 403, 'forbidden', 'text/plain')
      return
    }
    try {
      const st = await stat(file)
      if (!st.isFile()) file = join(root, 'index.html')
    } catch {
      if (extname(rel)) {
        send(res, 404, 'not found', 'text/plain')
        return
      }
      file = join(root, 'index.html')
    }
    let body: Buffer
    try {
      body = await readFile(file)
    } catch {
      send(res, 500, `the UI is not built: ${root} is missing; run \`npm run build\``, 'text/plain')
      return
    }
    send(res, 200, body, types[extname(file)] ?? 'application/octet-stream', file.endsWith('.html') ? { 'Content-Security-Policy': csp } : {})
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      console.error('[envelope] app API request failed:', err instanceof Error ? err.message : String(err))
      if (!res.headersSent) send(res, 500, 'internal error', 'text/plain')
      else res.destroy()
    })
  })
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolvePromise())
  })
  port = (server.address() as AddressInfo).port
  const url = `http://127.0.0.1:${port}/`
  return {
    url,
    openUrl: `${url}#token=${token}`,
    port,
    token,
    close: () =>
      new Promise<void>((resolvePromise) => {
        opts.dispatcher.close()
        server.closeAllConnections()
        server.close(() => resolvePromise())
      }),
  }
}
