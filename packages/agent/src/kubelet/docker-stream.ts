/**
 * Docker's stream formats: the multiplexed attach/logs stream (8-byte frame
 * headers: stream id, 3 zero bytes, big-endian payload length) and the
 * JSON-lines progress stream of pulls and imports.
 */

/** 1 = stdout, 2 = stderr (0 = stdin, never sent to us). */
export type StreamId = number

/**
 * A push parser for the multiplexed stream: feed it chunks as they come,
 * it calls `onFrame` once per complete frame, even when frames straddle chunks.
 */
export function createDemuxer (onFrame: (stream: StreamId, payload: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0)
  return chunk => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4)
      if (pending.length < 8 + size) break
      onFrame(pending[0] ?? 1, pending.subarray(8, 8 + size))
      pending = pending.subarray(8 + size)
    }
  }
}

interface ProgressLine {
  error?: string
  errorDetail?: { message?: string }
}

/**
 * Wait for a progress stream (pull, import) to end; reject with the first
 * `error` line it carries, or when nothing arrives for `idleMs`.
 */
export async function followProgress (stream: NodeJS.ReadableStream, opts: { idleMs?: number } = {}): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let buffered = ''
    let failure: Error | undefined
    let timer: NodeJS.Timeout | undefined
    const armIdle = (): void => {
      if (opts.idleMs === undefined) return
      clearTimeout(timer)
      timer = setTimeout(() => {
        finish(new Error(`no progress from the engine for ${opts.idleMs} ms`))
        const destroy = (stream as { destroy?: () => void }).destroy
        destroy?.call(stream)
      }, opts.idleMs)
    }
    let done = false
    const finish = (err?: Error): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      if (err !== undefined) reject(err)
      else resolve()
    }
    const readLine = (line: string): void => {
      if (line.trim() === '' || failure !== undefined) return
      let parsed: ProgressLine
      try {
        parsed = JSON.parse(line) as ProgressLine
      } catch {
        return
      }
      if (parsed.error !== undefined) failure = new Error(parsed.errorDetail?.message ?? parsed.error)
    }
    armIdle()
    stream.on('data', (chunk: Buffer | string) => {
      armIdle()
      buffered += chunk.toString()
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        readLine(buffered.slice(0, nl))
        buffered = buffered.slice(nl + 1)
      }
    })
    stream.on('error', (err: Error) => finish(err))
    stream.on('end', () => { readLine(buffered); buffered = ''; finish(failure) })
    // 'close' without 'end' first: the connection broke mid-stream.
    stream.on('close', () => finish(failure ?? new Error('the engine closed the progress stream early')))
  })
}
