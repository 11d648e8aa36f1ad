import assert from 'node:assert/strict'
import { waitFor } from '../helpers/wait.ts'
import type { Lab } from './lab.ts'

/** What whole-cluster tests on the lab share: a view of its pods, nodes, engines and network, and a web deployment. */

type Json = any

/**
 * A web pod that tells who called it: busybox httpd with a CGI script that
 * prints REMOTE_ADDR (headers ended by CRLF: fetch is strict), on port 8080, no port declared (as `kubectl create
 * deployment` makes them).
 */
export const WHOAMI = [
  'sh', '-c',
  'mkdir -p /www/cgi-bin && printf \'#!/bin/sh\\nprintf "Content-Type: text/plain\\\\r\\\\n\\\\r\\\\n%%s\\\\n" "$REMOTE_ADDR"\\n\' >/www/cgi-bin/ip && chmod +x /www/cgi-bin/ip && exec httpd -f -p 8080 -h /www'
]

export function deployment (name: string, replicas: number): Json {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      // httpd runs as PID 1 and ignores SIGTERM: a short grace keeps deletes quick.
      template: { metadata: { labels: { app: name } }, spec: { terminationGracePeriodSeconds: 2, containers: [{ name: 'web', image: 'shoal-test/web:1', command: WHOAMI }] } }
    }
  }
}

export const isReady = (p: Json): boolean => p.status?.phase === 'Running' && (p.status?.conditions ?? []).some((c: Json) => c.type === 'Ready' && c.status === 'True')

/** "[::ffff:10.244.1.2]" (busybox httpd's REMOTE_ADDR) → "10.244.1.2". */
export const remoteIP = (body: string): string => body.trim().replace(/^\[(?:::ffff:)?|\]$/g, '')

/** What a lab (or a host of it) uses to tell the test about its pods and the network it built. */
export class LabView {
  readonly lab: Lab
  constructor (lab: Lab) { this.lab = lab }

  api (via = 1): Lab['hosts'][number]['agent'] { return this.lab.host(via).agent }

  async pods (app: string, via = 1): Promise<Json[]> {
    return (await this.api(via).getJson(`/api/v1/namespaces/default/pods?labelSelector=app%3D${app}`, 5000)).items as Json[]
  }

  /** Wait for `n` Ready pods of `app` (and no others), as host `via` sees them. */
  async readyPods (app: string, n: number, opts: { via?: number, timeoutMs?: number, where?: (p: Json) => boolean } = {}): Promise<Json[]> {
    return await waitFor(`${n} Ready ${app} pods`, async () => {
      const items = await this.pods(app, opts.via)
      return items.length === n && items.every(isReady) && items.every(opts.where ?? (() => true)) ? items : false
    }, { timeoutMs: opts.timeoutMs ?? 60_000, intervalMs: 200 })
  }

  async node (name: string, via = 1): Promise<Json> {
    return await this.api(via).getJson(`/api/v1/nodes/${name}`, 5000)
  }

  /** Host k's node, as the API has it. */
  async podCIDR (k: number, via = 1): Promise<string> {
    return (await this.node(this.lab.host(k).name, via)).spec.podCIDR
  }

  /** The app container of a pod on host k. */
  async container (k: number, pod: string): Promise<string> {
    const id = (await this.lab.docker(k, ['ps', '-q', '--filter', `label=io.shoal.pod.name=${pod}`, '--filter', 'label=io.shoal.role=app'])).trim()
    assert.ok(/^[0-9a-f]+$/.test(id), `one running app container of ${pod} on host ${k}, got ${JSON.stringify(id)}`)
    return id
  }

  /** HTTP GET from inside a pod's container (busybox wget); its body, or undefined when it fails. */
  async fromPod (k: number, pod: string, url: string): Promise<string | undefined> {
    const id = await this.container(k, pod)
    // busybox's own timeout: its wget -T crashes in this build.
    const r = await this.lab.run(k, ['docker', 'exec', id, 'timeout', '5', 'wget', '-q', '-O', '-', url], { timeoutMs: 10_000 })
    return r.code === 0 ? r.stdout : undefined
  }

  /** HTTP GET from host k's network namespace (not from a pod); its body, or undefined when it fails. */
  async fromHost (k: number, url: string): Promise<string | undefined> {
    const get = `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(3000) }).then(r => r.text()).then(t => process.stdout.write(t), () => process.exit(1))`
    const r = await this.lab.run(k, [process.execPath, '-e', get], { timeoutMs: 10_000 })
    return r.code === 0 ? r.stdout : undefined
  }

  /** Pod names of `app` whose app container runs on host k's engine. */
  async running (k: number, app: string): Promise<string[]> {
    const out = await this.lab.docker(k, ['ps', '--filter', 'label=io.shoal.role=app', '--format', '{{.Label "io.shoal.pod.name"}}'])
    return out.split('\n').filter(n => n.startsWith(`${app}-`))
  }

  /** The routes the agent of host k put in for other nodes' pod ranges (`proto 83`), as "CIDR via|dev …" lines. */
  async podRoutes (k: number): Promise<string[]> {
    const r = await this.lab.run(k, ['ip', '-4', 'route', 'show', 'proto', '83'])
    assert.equal(r.code, 0, r.stderr)
    return r.stdout.split('\n').map(l => l.trim()).filter(l => l !== '')
  }

  /** What of the pod network host k shows: veths (`sv…`), routes, iptables rules, and sandboxes holding an IP. */
  async plumbing (k: number): Promise<{ veths: string[], routes: string[], rules: string[], allocations: string[] }> {
    const links = await this.lab.run(k, ['ip', '-o', 'link', 'show'])
    const routes = await this.lab.run(k, ['ip', '-4', 'route', 'show', 'table', 'all'])
    const filter = await this.lab.run(k, ['iptables-save'])
    const nat = await this.lab.run(k, ['iptables-save', '-t', 'nat'])
    const rules = (out: string): string[] => out.split('\n').filter(l => l !== '' && !l.startsWith('#')).map(l => l.replace(/ \[\d+:\d+\]$/, ''))
    const allocations = await this.lab.docker(k, ['ps', '-a', '--filter', 'label=io.shoal.pod-ip', '--format', '{{.Label "io.shoal.pod-ip"}}'])
    return {
      veths: links.stdout.split('\n').map(l => l.split(': ')[1]?.split('@')[0] ?? '').filter(n => n.startsWith('sv')),
      // A bridge whose last port went shows `linkdown` on its routes: the same routes.
      routes: routes.stdout.split('\n').filter(l => l.trim() !== '').map(l => l.replace(/ linkdown/, '')),
      rules: [...rules(filter.stdout), ...rules(nat.stdout)],
      allocations: allocations.split('\n').filter(l => l.trim() !== '')
    }
  }

  async kubectl (k: number, args: readonly string[]): Promise<string> {
    const r = await this.lab.run(k, ['kubectl', ...args], { timeoutMs: 30_000 })
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} on host ${k}: ${r.stderr}`)
    return r.stdout
  }

  async create (app: string, replicas: number): Promise<void> {
    const res = await this.api().request('POST', '/apis/apps/v1/namespaces/default/deployments', { json: deployment(app, replicas) })
    assert.equal(res.status, 201, res.text)
  }

  async delete (path: string): Promise<void> {
    const res = await this.api().request('DELETE', path)
    assert.ok(res.status === 200 || res.status === 202, `DELETE ${path}: ${res.status} ${res.text}`)
  }
}
