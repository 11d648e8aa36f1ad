/** Percentile by nearest rank over a copy of `xs` (p in 0–100). */
export function percentile (xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN
  const sorted = [...xs].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]!
}

export function summary (xs: readonly number[], unit = 'ms'): string {
  return `p50 ${percentile(xs, 50).toFixed(0)} ${unit}, p99 ${percentile(xs, 99).toFixed(0)} ${unit}, max ${Math.max(...xs).toFixed(0)} ${unit} (n=${xs.length})`
}

/** A bench's failure, carrying the figures it had measured before it failed. */
export function benchFailure (bench: string, lines: readonly string[], err: unknown): Error {
  const so = lines.length > 0 ? `\nfigures before it failed:\n${lines.join('\n')}` : ''
  return new Error(`${bench} bench failed: ${(err as Error).message}${so}`, { cause: err })
}
