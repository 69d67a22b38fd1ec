/**
 * The Electron main process: one BrowserWindow (contextIsolation, sandbox, no nodeIntegration, strict
 * CSP, navigation and new windows blocked), IPC handlers over the shared dispatcher with a trusted-sender
 * check, and native save dialogs for exports. The same services also back `envelope ui` (web mode).
 */
import { app, BrowserWindow, dialog, session, shell } from 'electron'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createContext } from '../app-api/context.ts'
import { createDispatcher } from '../app-api/handlers.ts'
import { saveExport } from '../app-api/export.ts'
import type { Dispatcher } from '../app-api/handlers.ts'
import { csp } from '../app-api/web-transport.ts'
import { registerIpc } from './ipc.ts'

const here = dirname(fileURLToPath(import.meta.url))
const rendererIndex = join(here, '../renderer/index.html')
const rendererBase = pathToFileURL(join(here, '../renderer/')).href
const preload = join(here, '../preload/index.cjs')

let win: BrowserWindow | undefined
let dispatcher: Dispatcher | undefined
let closeServices: (() => void) | undefined

const isOurs = (url: string): boolean => url.startsWith(rendererBase)

async function saveFile(suggestedName: string, content: string): Promise<string | undefined> {
  const opts = {
    defaultPath: suggestedName,
    properties: ['createDirectory', 'showOverwriteConfirmation'] as ('createDirectory' | 'showOverwriteConfirmation')[],
  }
  const res = win ? await dialog.showSaveDialog(win, opts) : await dialog.showSaveDialog(opts)
  if (res.canceled || !res.filePath) return undefined
  // the dialog asked before replacing a file; the writer streams into FIFOs/devices, follows or refuses links
  return saveExport(res.filePath, content)
}

function createWindow(): void {
  win = new BrowserWindow({
    width: 1360,
    height: 860,
    minWidth: 900,
    minHeight: 560,
    show: false,
    title: 'Envelope',
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  })
  win.once('ready-to-show', () => win?.show())
  win.webContents.setWindowOpenHandler(({ url }) => {
    // links to the web open in the user's browser; nothing opens inside the app
    if (/^https:\/\//.test(url)) void shell.openExternal(url)
    return { action: 'deny' }
  })
  win.webContents.on('will-navigate', (e, url) => {
    if (!isOurs(url)) e.preventDefault()
  })
  win.webContents.on('will-redirect', (e, url) => {
    if (!isOurs(url)) e.preventDefault()
  })
  win.webContents.on('will-attach-webview', (e) => e.preventDefault())
  // the renderer blocks unload while the editor has unsaved changes: ask before closing
  win.webContents.on('will-prevent-unload', (e) => {
    const choice = dialog.showMessageBoxSync(win as BrowserWindow, {
      type: 'question',
      buttons: ['Close without saving', 'Cancel'],
      defaultId: 1,
      cancelId: 1,
      title: 'Unsaved changes',
      message: 'The open environment has unsaved changes.',
      detail: 'Close anyway and lose them?',
    })
    if (choice === 0) e.preventDefault()
  })
  win.on('closed', () => (win = undefined))
  void win.loadFile(rendererIndex)
}

app.enableSandbox()

app
  .whenReady()
  .then(() => {
    session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
      callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [csp] } })
    })
    session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false))
    let built
    try {
      built = createContext({ mode: 'electron', version: app.getVersion(), saveFile })
    } catch (err) {
      dialog.showErrorBox(
        'Envelope cannot start',
        `Opening the data folder failed: ${err instanceof Error ? err.message : String(err)}\n\nCheck ENVELOPE_DATA_DIR and the folder permissions.`,
      )
      app.exit(1)
      return
    }
    dispatcher = createDispatcher(built.ctx)
    closeServices = built.services.close
    registerIpc(dispatcher, () => win?.webContents, isOurs)
    createWindow()
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) createWindow()
    })
  })
  .catch((err: unknown) => {
    dialog.showErrorBox('Envelope cannot start', err instanceof Error ? err.message : String(err))
    app.exit(1)
  })

app.on('web-contents-created', (_e, contents) => {
  contents.on('will-navigate', (ev, url) => {
    if (!isOurs(url)) ev.preventDefault()
  })
  contents.setWindowOpenHandler(() => ({ action: 'deny' }))
})

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit()
})

app.on('will-quit', () => {
  dispatcher?.close()
  closeServices?.()
})
