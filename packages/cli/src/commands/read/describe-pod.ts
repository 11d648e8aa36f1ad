import { controlledBy, formatTime, goList, type DescribeWriter } from './describe-writer.ts'
import { maybe, nameOf, namespaceOf, meta, num, rec, recs, sortedEntries, str, strs, type Obj } from './obj.ts'

/**
 * `describe pod`, and the container and volume sections a pod template
 * shares with Deployments and ReplicaSets (kubectl's describePod,
 * describeContainers, DescribePodTemplate, describeVolumes).
 */

export function describePod (w: DescribeWriter, pod: Obj, events: readonly Obj[] | undefined): void {
  const m = meta(pod)
  const spec = rec(pod['spec'])
  const status = rec(pod['status'])
  w.field(0, 'Name', nameOf(pod))
  w.field(0, 'Namespace', namespaceOf(pod))
  if (typeof spec['priority'] === 'number') w.field(0, 'Priority', spec['priority'])
  if (str(spec['priorityClassName']) !== '') w.field(0, 'Priority Class Name', str(spec['priorityClassName']))
  if (str(spec['runtimeClassName']) !== '') w.field(0, 'Runtime Class Name', str(spec['runtimeClassName']))
  if (str(spec['serviceAccountName']) !== '') w.field(0, 'Service Account', str(spec['serviceAccountName']))
  w.field(0, 'Node', str(spec['nodeName']) === '' ? '<none>' : `${str(spec['nodeName'])}/${str(status['hostIP'])}`)
  if (str(status['startTime']) !== '') w.field(0, 'Start Time', formatTime(status['startTime']))
  w.labels('Labels', m['labels'])
  w.annotations('Annotations', m['annotations'])
  const phase = str(status['phase'])
  if (str(m['deletionTimestamp']) !== '' && phase !== 'Failed' && phase !== 'Succeeded') {
    w.field(0, 'Status', `Terminating (lasts ${w.since(m['deletionTimestamp'])})`)
    w.field(0, 'Termination Grace Period', `${num(m['deletionGracePeriodSeconds'])}s`)
  } else {
    w.field(0, 'Status', phase)
  }
  if (str(status['reason']) !== '') w.field(0, 'Reason', str(status['reason']))
  if (str(status['message']) !== '') w.field(0, 'Message', str(status['message']))
  w.field(0, 'IP', str(status['podIP']))
  const ips = recs(status['podIPs'])
  if (ips.length === 0) {
    w.write(0, 'IPs:\t<none>\n')
  } else {
    w.write(0, 'IPs:\n')
    for (const ip of ips) w.field(1, 'IP', str(ip['ip']))
  }
  const controller = controlledBy(pod)
  if (controller !== '') w.field(0, 'Controlled By', controller)
  if (str(status['nominatedNodeName']) !== '') w.field(0, 'NominatedNodeName', str(status['nominatedNodeName']))
  if (recs(spec['initContainers']).length > 0) describeContainers(w, 'Init Containers', spec['initContainers'], status['initContainerStatuses'], '', pod)
  describeContainers(w, 'Containers', spec['containers'], status['containerStatuses'], '', pod)
  const gates = recs(spec['readinessGates'])
  const conditions = recs(status['conditions'])
  if (gates.length > 0) {
    w.write(0, 'Readiness Gates:\n  Type\tStatus\n')
    for (const g of gates) {
      const c = conditions.find(x => x['type'] === g['conditionType'])
      w.write(1, `${str(g['conditionType'])} \t${c !== undefined ? str(c['status']) : '<none>'} \n`)
    }
  }
  if (conditions.length > 0) {
    w.write(0, 'Conditions:\n  Type\tStatus\n')
    for (const c of conditions) w.write(1, `${str(c['type'])} \t${str(c['status'])} \n`)
  }
  describeVolumes(w, spec['volumes'], '')
  w.field(0, 'QoS Class', str(status['qosClass']) || qosClass(spec))
  w.labels('Node-Selectors', spec['nodeSelector'])
  w.tolerations('Tolerations', spec['tolerations'])
  w.events(events)
}

/** `qos.GetPodQOS`, for a pod the kubelet has not reported on yet. */
function qosClass (spec: Obj): string {
  const containers = [...recs(spec['containers']), ...recs(spec['initContainers'])]
  let any = false
  let guaranteed = true
  for (const c of containers) {
    const r = rec(c['resources'])
    const requests = rec(r['requests'])
    const limits = rec(r['limits'])
    for (const name of ['cpu', 'memory']) {
      if (requests[name] !== undefined || limits[name] !== undefined) any = true
      const request = requests[name] ?? limits[name]
      if (limits[name] === undefined || str(request) !== str(limits[name])) guaranteed = false
    }
  }
  if (!any) return 'BestEffort'
  return guaranteed ? 'Guaranteed' : 'Burstable'
}

/** `80/TCP,443/TCP` of a container's ports (`host` for the host ports). */
function ports (container: Obj, field: 'containerPort' | 'hostPort'): string {
  return recs(container['ports']).map(p => `${num(p[field])}/${str(p['protocol']) || 'TCP'}`).join(',')
}

/**
 * `describeContainers`: `space` is '' for a pod and '  ' inside a pod
 * template (names then sit one space further in). With the pod, an env var
 * taken from one of its fields shows that field's value.
 */
export function describeContainers (w: DescribeWriter, label: string, containers: unknown, statuses: unknown, space: string, pod?: Obj): void {
  const list = recs(containers)
  const byName = new Map(recs(statuses).map(s => [str(s['name']), s]))
  if (list.length === 0) {
    w.write(0, `${space}${label}:\t<none>\n`)
    return
  }
  w.write(0, `${space}${label}:\n`)
  for (const c of list) {
    const s = byName.get(str(c['name']))
    w.write(1, `${space !== '' ? ' ' : ''}${str(c['name'])}:\n`)
    if (s !== undefined) w.field(2, 'Container ID', str(s['containerID']))
    w.field(2, 'Image', str(c['image']))
    if (s !== undefined) w.field(2, 'Image ID', str(s['imageID']))
    const port = ports(c, 'containerPort')
    w.field(2, port.includes(',') ? 'Ports' : 'Port', port || '<none>')
    const hostPort = ports(c, 'hostPort')
    w.field(2, hostPort.includes(',') ? 'Host Ports' : 'Host Port', hostPort || '<none>')
    if (str(c['restartPolicy']) !== '') w.field(2, 'Restart Policy', str(c['restartPolicy']))
    for (const [key, title] of [['command', 'Command'], ['args', 'Args']] as const) {
      const lines = strs(c[key])
      if (lines.length === 0) continue
      w.write(2, `${title}:\n`)
      for (const l of lines) for (const part of l.split('\n')) w.write(3, `${part}\n`)
    }
    if (s !== undefined) {
      describeState(w, 'State', rec(s['state']))
      if (maybe(rec(s['lastState'])['terminated']) !== undefined) describeState(w, 'Last State', rec(s['lastState']))
      w.field(2, 'Ready', s['ready'] === true ? 'True' : 'False')
      w.field(2, 'Restart Count', num(s['restartCount']))
    }
    const resources = rec(c['resources'])
    for (const [key, title] of [['limits', 'Limits'], ['requests', 'Requests']] as const) {
      const pairs = sortedEntries(resources[key])
      if (pairs.length === 0) continue
      w.write(2, `${title}:\n`)
      for (const [name, q] of pairs) w.field(3, name, q)
    }
    for (const [key, title] of [['livenessProbe', 'Liveness'], ['readinessProbe', 'Readiness'], ['startupProbe', 'Startup']] as const) {
      const probe = maybe(c[key])
      if (probe !== undefined) w.field(2, title, describeProbe(probe))
    }
    const envFrom = recs(c['envFrom'])
    if (envFrom.length > 0) {
      w.write(2, 'Environment Variables from:\n')
      for (const e of envFrom) {
        const cm = maybe(e['configMapRef'])
        const secret = maybe(e['secretRef'])
        const ref = cm ?? secret ?? {}
        const prefix = str(e['prefix']) !== '' ? ` with prefix '${str(e['prefix'])}'` : ''
        w.write(3, `${str(ref['name'])}\t${cm !== undefined ? 'ConfigMap' : 'Secret'}${prefix}\tOptional: ${ref['optional'] === true}\n`)
      }
    }
    const env = recs(c['env'])
    w.write(2, `Environment:${env.length === 0 ? '\t<none>' : ''}\n`)
    for (const e of env) {
      const from = maybe(e['valueFrom'])
      if (from === undefined) {
        str(e['value']).split('\n').forEach((line, i) => w.write(3, i === 0 ? `${str(e['name'])}:\t${line}\n` : `\t${line}\n`))
        continue
      }
      const field = maybe(from['fieldRef'])
      const cmKey = maybe(from['configMapKeyRef'])
      const secretKey = maybe(from['secretKeyRef'])
      if (field !== undefined) w.write(3, `${str(e['name'])}:\t${pod !== undefined ? fieldValue(pod, str(field['fieldPath'])) : ''} (${str(field['apiVersion'])}:${str(field['fieldPath'])})\n`)
      else if (cmKey !== undefined) w.write(3, `${str(e['name'])}:\t<set to the key '${str(cmKey['key'])}' of config map '${str(cmKey['name'])}'>\tOptional: ${cmKey['optional'] === true}\n`)
      else if (secretKey !== undefined) w.write(3, `${str(e['name'])}:\t<set to the key '${str(secretKey['key'])}' in secret '${str(secretKey['name'])}'>\tOptional: ${secretKey['optional'] === true}\n`)
      else w.write(3, `${str(e['name'])}:\t<unknown source>\n`)
    }
    const mounts = recs(c['volumeMounts']).sort((a, b) => str(a['mountPath']) < str(b['mountPath']) ? -1 : 1)
    w.write(2, `Mounts:${mounts.length === 0 ? '\t<none>' : ''}\n`)
    for (const m of mounts) {
      const flags = [m['readOnly'] === true ? 'ro' : 'rw', ...(str(m['subPath']) !== '' ? [`path=${JSON.stringify(str(m['subPath']))}`] : [])]
      w.write(3, `${str(m['mountPath'])} from ${str(m['name'])} (${flags.join(',')})\n`)
    }
  }
}

/** The value at a dotted path of the pod (`metadata.name`, `status.podIP`), '' when absent. */
function fieldValue (pod: Obj, path: string): string {
  let v: unknown = pod
  for (const part of path.split('.')) v = rec(v)[part]
  return str(v)
}

/** `describeStatus`: Running since, Waiting for a reason, Terminated with its exit code. */
function describeState (w: DescribeWriter, title: string, state: Obj): void {
  const running = maybe(state['running'])
  const waiting = maybe(state['waiting'])
  const terminated = maybe(state['terminated'])
  if (running !== undefined) {
    w.field(2, title, 'Running')
    w.field(3, 'Started', formatTime(running['startedAt']))
  } else if (waiting !== undefined) {
    w.field(2, title, 'Waiting')
    if (str(waiting['reason']) !== '') w.field(3, 'Reason', str(waiting['reason']))
  } else if (terminated !== undefined) {
    w.field(2, title, 'Terminated')
    if (str(terminated['reason']) !== '') w.field(3, 'Reason', str(terminated['reason']))
    if (str(terminated['message']) !== '') w.field(3, 'Message', str(terminated['message']))
    w.field(3, 'Exit Code', num(terminated['exitCode']))
    if (num(terminated['signal']) > 0) w.field(3, 'Signal', num(terminated['signal']))
    w.field(3, 'Started', formatTime(terminated['startedAt']))
    w.field(3, 'Finished', formatTime(terminated['finishedAt']))
  } else {
    w.field(2, title, 'Waiting')
  }
}

/** `DescribeProbe`: `http-get http://:8080/healthz delay=0s timeout=1s period=10s #success=1 #failure=3`. */
function describeProbe (p: Obj): string {
  const attrs = `delay=${num(p['initialDelaySeconds'])}s timeout=${num(p['timeoutSeconds'])}s period=${num(p['periodSeconds'])}s #success=${num(p['successThreshold'])} #failure=${num(p['failureThreshold'])}`
  const exec = maybe(p['exec'])
  const http = maybe(p['httpGet'])
  const tcp = maybe(p['tcpSocket'])
  const grpc = maybe(p['grpc'])
  if (exec !== undefined) return `exec ${goList(exec['command'])} ${attrs}`
  if (http !== undefined) {
    const port = str(http['port'])
    const host = str(http['host'])
    const hostPort = port === '' ? host : host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
    return `http-get ${(str(http['scheme']) || 'HTTP').toLowerCase()}://${hostPort}${str(http['path'])} ${attrs}`
  }
  if (tcp !== undefined) return `tcp-socket ${str(tcp['host'])}:${str(tcp['port'])} ${attrs}`
  if (grpc !== undefined) return `grpc <pod>:${num(grpc['port'])} ${str(grpc['service'])} ${attrs}`
  return `unknown ${attrs}`
}

/** `describeVolumes`: each volume with its type, or `<none>`. */
export function describeVolumes (w: DescribeWriter, volumes: unknown, space: string): void {
  const list = recs(volumes)
  if (list.length === 0) {
    w.write(0, `${space}Volumes:\t<none>\n`)
    return
  }
  w.write(0, `${space}Volumes:\n`)
  for (const v of list) {
    w.write(1, `${space !== '' ? ' ' : ''}${str(v['name'])}:\n`)
    const hostPath = maybe(v['hostPath'])
    const emptyDir = maybe(v['emptyDir'])
    const configMap = maybe(v['configMap'])
    const secret = maybe(v['secret'])
    const claim = maybe(v['persistentVolumeClaim'])
    if (hostPath !== undefined) {
      w.write(2, `Type:\tHostPath (bare host directory volume)\n    Path:\t${str(hostPath['path'])}\n    HostPathType:\t${str(hostPath['type'])}\n`)
    } else if (emptyDir !== undefined) {
      w.write(2, `Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n    Medium:\t${str(emptyDir['medium'])}\n    SizeLimit:\t${str(emptyDir['sizeLimit']) || '<unset>'}\n`)
    } else if (configMap !== undefined) {
      w.write(2, `Type:\tConfigMap (a volume populated by a ConfigMap)\n    Name:\t${str(configMap['name'])}\n    Optional:\t${configMap['optional'] === true}\n`)
    } else if (secret !== undefined) {
      w.write(2, `Type:\tSecret (a volume populated by a Secret)\n    SecretName:\t${str(secret['secretName'])}\n    Optional:\t${secret['optional'] === true}\n`)
    } else if (claim !== undefined) {
      w.write(2, `Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n    ClaimName:\t${str(claim['claimName'])}\n    ReadOnly:\t${claim['readOnly'] === true}\n`)
    } else {
      w.write(1, '<unknown>\n')
    }
  }
}

/** `DescribePodTemplate`, the `Pod Template:` section of Deployments and ReplicaSets. */
export function describePodTemplate (w: DescribeWriter, template: unknown): void {
  w.write(0, 'Pod Template:\n')
  const t = maybe(template)
  if (t === undefined) {
    w.write(1, '<unset>')
    return
  }
  const m = rec(t['metadata'])
  const spec = rec(t['spec'])
  w.labels('  Labels', m['labels'])
  if (sortedEntries(m['annotations']).length > 0) w.annotations('  Annotations', m['annotations'])
  if (str(spec['serviceAccountName']) !== '') w.field(1, 'Service Account', str(spec['serviceAccountName']))
  if (recs(spec['initContainers']).length > 0) describeContainers(w, 'Init Containers', spec['initContainers'], undefined, '  ')
  describeContainers(w, 'Containers', spec['containers'], undefined, '  ')
  describeVolumes(w, spec['volumes'], '  ')
  if (str(spec['priorityClassName']) !== '') w.field(1, 'Priority Class Name', str(spec['priorityClassName']))
  w.labels('  Node-Selectors', spec['nodeSelector'])
  w.tolerations('  Tolerations', spec['tolerations'])
}
