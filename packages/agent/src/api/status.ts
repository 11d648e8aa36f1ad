import { ShoalError } from '@shoal/core'

/** A Kubernetes `Status` body, what every failed request answers with. */
export interface Status {
  readonly kind: 'Status'
  readonly apiVersion: 'v1'
  readonly metadata: Record<string, never>
  readonly status: 'Failure' | 'Success'
  readonly message: string
  readonly reason: string
  readonly code: number
}

/** A reply with its own HTTP code (201 Created) or headers (`Warning`). */
export class Reply {
  readonly code: number
  readonly body: unknown
  readonly headers: Readonly<Record<string, string | readonly string[]>>
  constructor (code: number, body: unknown, headers: Readonly<Record<string, string | readonly string[]>> = {}) {
    this.code = code
    this.body = body
    this.headers = headers
  }
}

/** A reply that streams: the route takes over the response (watch). */
export class StreamReply {
  readonly run: (res: import('node:http').ServerResponse) => void
  constructor (run: (res: import('node:http').ServerResponse) => void) {
    this.run = run
  }
}

export function statusFor (err: unknown): Status {
  // An error that already carries its whole Status (a 422 with field causes).
  const carried = (err as { status?: unknown } | undefined)?.status
  if (err instanceof ShoalError && typeof carried === 'object' && carried !== null && (carried as Status).kind === 'Status') return carried as Status
  if (err instanceof ShoalError) {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: err.message, reason: err.reason, code: err.code }
  }
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: (err as Error)?.message ?? String(err), reason: 'InternalError', code: 500 }
}

export function failure (code: number, reason: string, message: string): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }
}
