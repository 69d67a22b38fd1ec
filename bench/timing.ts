/** Timing for the in-process benches. */

export interface Timing {
  /** the median run (the upper one of the middle two for an even count) */
  median: number
  /** the fastest run (shared machines are noisy) */
  min: number
}

/**
 * Runs `run` `warmup` times untimed (JIT, key unwrap, caches), then `n` times timed, in ms. A run that
 * returns a number has timed itself (the part of it that is measured, without its set-up).
 */
export async function measure(n: number, run: () => Promise<unknown>, warmup = 3): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await run()
  const times: number[] = []
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    const own = await run()
    times.push(typeof own === 'number' ? own : performance.now() - t)
  }
  times.sort((a, b) => a - b)
  return { median: times[Math.floor(times.length / 2)]!, min: times[0]! }
}
