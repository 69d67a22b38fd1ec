/**
 * The few web-platform APIs the pure layers (shared/) may use: every runtime they run in provides them
 * (Node 24, Electron's renderer, a worker thread), but they belong to neither the ES library nor a single
 * runtime's types. tsconfig.pure.json type-checks shared/ with only these and the ES2024 library, so a Node
 * or DOM API used there is a type error (the node and web configs bring their own declarations instead).
 */
declare class TextEncoder {
  encode(input?: string): Uint8Array
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean })
  decode(input?: ArrayBufferView | ArrayBuffer, options?: { stream?: boolean }): string
}
type TimerHandle = { readonly __timer: unique symbol }
declare function setTimeout(handler: () => void, ms?: number): TimerHandle
declare function clearTimeout(id: TimerHandle | undefined): void
interface AbortSignal {
  readonly aborted: boolean
  readonly reason: unknown
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void
  removeEventListener(type: 'abort', listener: () => void): void
  throwIfAborted(): void
}
