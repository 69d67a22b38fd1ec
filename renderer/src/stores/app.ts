/** App-level state: transport info, theme, current screen, secret reveal, confirm dialog. */
import { create } from 'zustand'
import type { AppInfo } from '../../../shared/ipc.ts'

export type Screen = 'editor' | 'history' | 'graph' | 'run' | 'export' | 'audit' | 'settings'
export type Theme = 'light' | 'dark'

export interface ConfirmRequest {
  title: string
  body: string
  /** buttons, first is the default action */
  actions: { label: string; value: string; danger?: boolean }[]
  input?: {
    label: string
    value: string
    placeholder?: string
    /** the error to show next to the field (the dialog stays open), or undefined when the input is fine */
    validate?: (value: string) => string | undefined
  }
  /** the action focused when the dialog opens (default: the first); destructive dialogs focus Cancel */
  focus?: string
  /** a list shown under the body (e.g. the environments that import the one being deleted) */
  items?: { label: string; values: string[] }
  resolve(value: string | null, input?: string): void
}

interface AppState {
  info?: AppInfo
  theme: Theme
  screen: Screen
  /** show secret values in previews/exports (never persisted) */
  reveal: boolean
  confirm?: ConfirmRequest
  setInfo(info: AppInfo): void
  setTheme(t: Theme): void
  setScreen(s: Screen): void
  setReveal(r: boolean): void
  ask(req: Omit<ConfirmRequest, 'resolve'>): Promise<{ action: string | null; input?: string }>
}

const storedTheme = (): Theme => {
  const t = localStorage.getItem('envelope.theme')
  if (t === 'light' || t === 'dark') return t
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'
}

export const useApp = create<AppState>((set) => ({
  theme: storedTheme(),
  screen: 'editor',
  reveal: false,
  setInfo: (info) => set({ info }),
  setTheme: (theme) => {
    localStorage.setItem('envelope.theme', theme)
    set({ theme })
  },
  setScreen: (screen) => set({ screen }),
  setReveal: (reveal) => set({ reveal }),
  ask: (req) =>
    new Promise((resolve) => {
      set({
        confirm: {
          ...req,
          resolve: (action, input) => {
            set({ confirm: undefined })
            resolve(input === undefined ? { action } : { action, input })
          },
        },
      })
    }),
}))
