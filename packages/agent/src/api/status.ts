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

export function statusFor (err: unknown): Status {
  if (err instanceof ShoalError) {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: err.message, reason: err.reason, code: err.code }
  }
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: (err as Error)?.message ?? String(err), reason: 'InternalError', code: 500 }
}

export function failure (code: number, reason: string, message: string): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }
}
