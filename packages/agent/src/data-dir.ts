import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { ShoalError } from '@shoal/core'
import { clusterFromSecret, type ClusterSecret } from './cluster/token.ts'

/** A peer we knew, kept so a restarted agent can find its cluster again. */
export interface KnownPeer {
  readonly name: string
  readonly peerId: string
  readonly addrs: readonly string[]
}

interface ClusterFile {
  readonly clusterId: string
  readonly secret: string
  readonly joinedAt: string
}

/**
 * The agent's data dir: its identity (`node.key`), the cluster it belongs to
 * (`cluster.json`), the peers it knew (`peers.json`) and its control socket
 * (`agent.sock`). Every file is written whole or not at all (temp file, fsync,
 * rename, fsync of the dir), owner-only, so a SIGKILL never leaves half a file.
 */
export class DataDir {
  readonly path: string
  /** Where a copy of the kubeconfig goes for the user who runs the agent (`~/.shoal/kubeconfig`), if anywhere. */
  readonly userKubeconfigPath: string | undefined

  constructor (path: string, opts: { userKubeconfig?: string } = {}) {
    this.path = path
    this.userKubeconfigPath = opts.userKubeconfig !== undefined && opts.userKubeconfig !== this.kubeconfigPath ? opts.userKubeconfig : undefined
  }

  get socketPath (): string { return join(this.path, 'agent.sock') }
  /** An admin kubeconfig for this agent's API, readable by the owner only. */
  get kubeconfigPath (): string { return join(this.path, 'kubeconfig') }

  async saveKubeconfig (text: string): Promise<void> {
    await this.#write(this.kubeconfigPath, text)
    if (this.userKubeconfigPath !== undefined) await writeWhole(this.userKubeconfigPath, text)
  }

  /** The cluster's Raft log (LevelDB). */
  get raftPath (): string { return join(this.path, 'raft') }
  get #keyPath (): string { return join(this.path, 'node.key') }
  get #clusterPath (): string { return join(this.path, 'cluster.json') }
  get #peersPath (): string { return join(this.path, 'peers.json') }

  /** The stored peer key, or a new one that is not stored until `saveKey`. */
  async loadKey (): Promise<{ key: PrivateKey, stored: boolean }> {
    const bytes = await readOptional(this.#keyPath)
    if (bytes !== undefined) return { key: privateKeyFromProtobuf(bytes), stored: true }
    return { key: await generateKeyPair('Ed25519'), stored: false }
  }

  async saveKey (key: PrivateKey): Promise<void> {
    await this.#write(this.#keyPath, privateKeyToProtobuf(key))
  }

  async loadCluster (): Promise<ClusterSecret | undefined> {
    const bytes = await readOptional(this.#clusterPath)
    if (bytes === undefined) return undefined
    const file = parseJson(this.#clusterPath, bytes) as ClusterFile
    if (typeof file.secret !== 'string' || Buffer.from(file.secret, 'base64url').length !== 32) throw new ShoalError('CorruptDataDir', 500, `${this.#clusterPath} is corrupt: no valid secret`)
    const cluster = clusterFromSecret(Buffer.from(file.secret, 'base64url'))
    if (cluster.id !== file.clusterId) throw new ShoalError('CorruptDataDir', 500, `${this.#clusterPath} is corrupt: its secret does not match its cluster id`)
    return cluster
  }

  async saveCluster (cluster: ClusterSecret, now: Date): Promise<void> {
    const file: ClusterFile = { clusterId: cluster.id, secret: Buffer.from(cluster.secret).toString('base64url'), joinedAt: now.toISOString() }
    await this.#write(this.#clusterPath, JSON.stringify(file, null, 2) + '\n')
  }

  async loadPeers (): Promise<KnownPeer[]> {
    const bytes = await readOptional(this.#peersPath)
    if (bytes === undefined) return []
    const parsed = parseJson(this.#peersPath, bytes) as { peers?: KnownPeer[] }
    return Array.isArray(parsed.peers) ? parsed.peers : []
  }

  async savePeers (peers: readonly KnownPeer[]): Promise<void> {
    await this.#write(this.#peersPath, JSON.stringify({ peers }, null, 2) + '\n')
  }

  /** After `shoal leave`: forget the cluster and its log, keep the identity. */
  async forgetCluster (): Promise<void> {
    await rm(this.#peersPath, { force: true })
    await rm(this.raftPath, { recursive: true, force: true })
    await rm(this.kubeconfigPath, { force: true })
    if (this.userKubeconfigPath !== undefined) await rm(this.userKubeconfigPath, { force: true })
    await rm(this.#clusterPath, { force: true })
    await syncDir(this.path)
  }

  async exists (): Promise<boolean> {
    try {
      return (await stat(this.path)).isDirectory()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
      throw err
    }
  }

  async #write (path: string, data: string | Uint8Array): Promise<void> {
    await writeWhole(path, data)
  }
}

/** Write a file whole or not at all, owner-only, creating its folder (owner-only) if needed. */
async function writeWhole (path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const tmp = `${path}.tmp-${process.pid}`
  const fh = await open(tmp, 'w', 0o600)
  try {
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, path)
  await syncDir(dir)
}

function parseJson (path: string, bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'))
  } catch {
    throw new ShoalError('CorruptDataDir', 500, `${path} is corrupt: not valid JSON (it was not written by a Shoal agent)`)
  }
}

async function readOptional (path: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

async function syncDir (dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}
