/**
 * Poll `check` until it returns a value other than undefined/false, or fail
 * after `timeoutMs` with `what` and the last value seen. Tests never sleep for
 * a fixed time; they wait for a condition with a deadline.
 */
export async function waitFor<T> (what: string, check: () => Promise<T | undefined | false> | T | undefined | false, opts: { timeoutMs?: number, intervalMs?: number } = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000
  const intervalMs = opts.intervalMs ?? 50
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await check()
      if (v !== undefined && v !== false) return v
      last = v
    } catch (err) {
      last = err
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${detail})`)
    }
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
}
