/**
 * One client for the IPC contract (shared/ipc.ts) over two transports:
 * - Electron: the preload's `window.envelope.invoke` (contextBridge, IPC to the main process);
 * - web mode: `POST /rpc/<channel>` to the loopback web transport with the per-launch token, which the
 *   page reads once from the URL fragment (`#token=…`), keeps in sessionStorage for reloads, and
 *   removes from the address bar.
 * Errors come back as SerializedError and are rebuilt (UserError with code + hint) with fromSerialized.
 */
import type { Channel, PreloadApi, Reply, RequestOf, ResponseOf } from '../../../shared/ipc.ts'
import { UserError, fromSerialized } from '../../../shared/errors.ts'

declare global {
  interface Window {
    envelope?: PreloadApi
  }
}

export interface Transport {
  kind: 'electron' | 'web'
  invoke<C extends Channel>(channel: C, req: RequestOf<C>): Promise<Reply<ResponseOf<C>>>
}

const tokenKey = 'envelope.transportToken'

/** Reads the web transport token from the URL fragment (once) or sessionStorage. */
export function takeTransportToken(): string | undefined {
  const m = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(window.location.hash)
  if (m?.[1]) {
    sessionStorage.setItem(tokenKey, m[1])
    history.replaceState(null, '', window.location.pathname + window.location.search)
    return m[1]
  }
  return sessionStorage.getItem(tokenKey) ?? undefined
}

export function httpTransport(token: string): Transport {
  return {
    kind: 'web',
    async invoke(channel, req) {
      let res: Response
      try {
        res = await fetch(`rpc/${encodeURIComponent(channel)}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-Envelope-Token': token },
          body: JSON.stringify(req ?? {}),
        })
      } catch (err) {
        throw new UserError('io', `lost the connection to the Envelope app API (${channel}): ${(err as Error).message}`, {
          hint: 'check that `envelope ui` is still running, then reload the page',
        })
      }
      const text = await res.text()
      try {
        return JSON.parse(text) as Reply<ResponseOf<typeof channel>>
      } catch {
        throw new UserError('io', `the app API answered ${res.status} with something that is not JSON (${channel})`, {
          hint: 'restart `envelope ui` and open the new URL it prints',
        })
      }
    },
  }
}

export function ipcTransport(api: PreloadApi): Transport {
  return { kind: 'electron', invoke: (channel, req) => api.invoke(channel, req) }
}

/** The transport for this page, or undefined when opened in a browser without a token. */
export function detectTransport(): Transport | undefined {
  if (window.envelope) return ipcTransport(window.envelope)
  const token = takeTransportToken()
  return token ? httpTransport(token) : undefined
}

export class ApiClient {
  readonly transport: Transport
  constructor(transport: Transport) {
    this.transport = transport
  }

  async call<C extends Channel>(channel: C, req: RequestOf<C>): Promise<ResponseOf<C>> {
    const reply = await this.transport.invoke(channel, req)
    if (reply.ok) return reply.result
    throw fromSerialized(reply.error)
  }
}

let client: ApiClient | undefined

export function setClient(c: ApiClient): void {
  client = c
}

export function api(): ApiClient {
  if (!client) throw new Error('API client used before the transport was chosen')
  return client
}
