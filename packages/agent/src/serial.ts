/**
 * A loop that reads the whole state each time it runs (the control plane's
 * rounds, the proxy's sync, one pod's sync), run one call at a time: a
 * request while it runs asks for exactly one more run after it, however
 * many requests come meanwhile, since that run will see every change.
 */
export interface Coalescing {
  /** Run now, or once more after the run in progress; nothing while `open` says no. */
  request: () => void
  /** Resolves once no run is in progress. */
  idle: () => Promise<void>
}

export function coalescing (work: () => Promise<void>, onError: (err: Error) => void, open: () => boolean = () => true): Coalescing {
  let running: Promise<void> | undefined
  let again = false
  const request = (): void => {
    if (!open()) return
    if (running !== undefined) {
      again = true
      return
    }
    running = work().catch(onError).finally(() => {
      running = undefined
      if (again) {
        again = false
        request()
      }
    })
  }
  return { request, idle: async () => { await running } }
}
