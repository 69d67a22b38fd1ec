/** Types of eslint-rules/layers.js (the layer table and its lint rule), for the tests that check it. */
import type { ESLint } from 'eslint'

export interface Layer {
  layer: string
  folder: string
  may: string[]
  packages: 'pure' | 'node' | 'browser'
  electron?: boolean
  what: string
}
export declare const LAYERS: Layer[]
export declare function layerOf(file: string): Layer | undefined
export declare function violation(from: Layer, file: string, spec: string): string | undefined
declare const plugin: ESLint.Plugin
export default plugin
