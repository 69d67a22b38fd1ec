/**
 * Main-side IPC: one `ipcMain.handle` per contract channel, each passing through the trusted-sender
 * check (only our own window's main frame, loaded from our own renderer files) and then the shared
 * dispatcher (zod validation + handlers, electron/app-api/handlers.ts).
 */
import { ipcMain } from 'electron'
import type { IpcMainInvokeEvent, WebContents } from 'electron'
import { channels, ipcPrefix } from '../../shared/ipc.ts'
import type { Dispatcher } from '../app-api/handlers.ts'

export function isTrustedSender(event: IpcMainInvokeEvent, trusted: () => WebContents | undefined, rendererUrl: (url: string) => boolean): boolean {
  const wc = trusted()
  const frame = event.senderFrame
  if (!wc || event.sender !== wc || !frame) return false
  // only the top frame, loaded from our renderer
  if (frame !== wc.mainFrame) return false
  return rendererUrl(frame.url)
}

export function registerIpc(dispatcher: Dispatcher, trusted: () => WebContents | undefined, rendererUrl: (url: string) => boolean): void {
  for (const channel of channels) {
    ipcMain.handle(ipcPrefix + channel, async (event, req: unknown) => {
      if (!isTrustedSender(event, trusted, rendererUrl)) {
        return { ok: false, error: { name: 'UserError', code: 'forbidden', message: `IPC from an untrusted frame refused (${channel})` } }
      }
      return dispatcher.dispatch(channel, req)
    })
  }
}
