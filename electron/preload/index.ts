/**
 * The sandboxed preload: exposes exactly one typed function, `window.envelope.invoke(channel, req)`,
 * for the channels of shared/ipc.ts. Anything else is refused here before it reaches IPC, and the main
 * side validates again (sender frame + zod). No raw ipcRenderer reaches the page.
 */
import { contextBridge, ipcRenderer } from 'electron'
import type { Channel, PreloadApi, Reply, RequestOf, ResponseOf } from '../../shared/ipc.ts'
import { channels, ipcPrefix } from '../../shared/ipc.ts'

const allowed = new Set<string>(channels)

const api: PreloadApi = {
  platform: process.platform,
  invoke<C extends Channel>(channel: C, req: RequestOf<C>): Promise<Reply<ResponseOf<C>>> {
    if (typeof channel !== 'string' || !allowed.has(channel)) {
      return Promise.resolve({ ok: false, error: { name: 'UserError', code: 'invalid_input', message: `unknown channel ${String(channel)}` } })
    }
    return ipcRenderer.invoke(ipcPrefix + channel, req) as Promise<Reply<ResponseOf<C>>>
  },
}

contextBridge.exposeInMainWorld('envelope', api)
