import { spawn } from 'node:child_process'

/**
 * Runs the kernel's network tools (iproute2's `ip`, `iptables`, `nsenter`)
 * for the pod network. A maintained netlink binding for Node.js that covers
 * veths into another namespace, bridges, routes and nftables does not exist;
 * iproute2's batch mode (`ip -batch -`) does a whole pod's plumbing in one
 * process, a few milliseconds.
 */
export type CommandRunner = (command: string, args: readonly string[], input?: string) => Promise<string>

/** A network command that failed: its command line and what it printed on stderr. */
export class NetworkCommandError extends Error {
  readonly stderr: string
  constructor (line: string, stderr: string, options?: { cause?: unknown }) {
    super(`${line}: ${stderr.trim() === '' ? 'failed' : stderr.trim()}`, options)
    this.name = 'NetworkCommandError'
    this.stderr = stderr
  }
}

export const runCommand: CommandRunner = async (command, args, input) => await new Promise((resolve, reject) => {
  const child = spawn(command, args, { stdio: [input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString() })
  child.on('error', err => reject(new NetworkCommandError([command, ...args].join(' '), err.message, { cause: err })))
  child.on('close', code => {
    if (code === 0) resolve(stdout)
    else reject(new NetworkCommandError([command, ...args].join(' '), stderr))
  })
  if (input !== undefined) {
    // A command that exits before reading all its input (a failed `ip -batch`,
    // an `nsenter` whose namespace is gone) closes the pipe: the write's EPIPE
    // is not the failure to report, its exit status and stderr are.
    child.stdin!.on('error', () => {})
    child.stdin!.end(input)
  }
})
