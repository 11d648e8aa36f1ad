import { ShoalError } from '@shoal/core'

export { ShoalError }

/** The join token is not one `shoal token` printed (mistyped, truncated). */
export class MalformedTokenError extends ShoalError {
  constructor (detail: string) {
    super('MalformedToken', 400, `malformed join token: ${detail}; copy it again from \`shoal token\` on a member`)
    this.name = 'MalformedTokenError'
  }
}

/** The data dir already belongs to a different cluster than the one asked for. */
export class ClusterMismatchError extends ShoalError {
  constructor (dataDir: string, have: string, want: string) {
    super('ClusterMismatch', 409, `data dir ${dataDir} belongs to cluster ${have}, but the token is for cluster ${want}; use another --data-dir, or \`shoal leave\` first`)
    this.name = 'ClusterMismatchError'
  }
}

/** Could not join through the given address. `detail` says why, in words. */
export class JoinFailedError extends ShoalError {
  constructor (address: string, detail: string, options?: { cause?: unknown }) {
    super('JoinFailed', 502, `cannot join through ${address}: ${detail}`, options)
    this.name = 'JoinFailedError'
  }
}

/** A port the agent must listen on is taken. */
export class AddressInUseError extends ShoalError {
  constructor (what: string, address: string, options?: { cause?: unknown }) {
    super('AddressInUse', 409, `${what} address ${address} is already in use (is another agent running there?); pick another with --bind or --port/--api-port`, options)
    this.name = 'AddressInUseError'
  }
}

/** Another agent runs on this data dir. */
export class DataDirBusyError extends ShoalError {
  constructor (dataDir: string) {
    super('DataDirBusy', 409, `another agent is already running with data dir ${dataDir}`)
    this.name = 'DataDirBusyError'
  }
}

/** The request cannot be done in the agent's current state. */
export class ConflictError extends ShoalError {
  constructor (message: string) {
    super('Conflict', 409, message)
    this.name = 'ConflictError'
  }
}
