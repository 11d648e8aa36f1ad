import type { DescribeWriter } from './describe-writer.ts'
import { formatLabels, meta, nameOf, namespaceOf, num, rec, recs, sortedEntries, str, strs, type Obj } from './obj.ts'

/**
 * `describe` for Services, Namespaces, ConfigMaps and Endpoints, and the
 * generic printer kubectl uses for every other kind (each field on its own
 * line, nested maps indented).
 */

/** `formatEndpoints` for one service port: up to three `ip:port`, then `+ N more...`; `<none>` when empty. */
function endpointsFor (endpoints: Obj | undefined, portName: string): string {
  const list: string[] = []
  for (const subset of recs(endpoints?.['subsets'])) {
    for (const p of recs(subset['ports'])) {
      if (str(p['name']) !== portName) continue
      for (const a of recs(subset['addresses'])) {
        const ip = str(a['ip'])
        list.push(ip.includes(':') ? `[${ip}]:${num(p['port'])}` : `${ip}:${num(p['port'])}`)
      }
    }
  }
  if (list.length === 0) return '<none>'
  return list.length > 3 ? `${list.slice(0, 3).join(',')} + ${list.length - 3} more...` : list.join(',')
}

export function describeService (w: DescribeWriter, svc: Obj, endpoints: Obj | undefined, events: readonly Obj[] | undefined): void {
  const m = meta(svc)
  const spec = rec(svc['spec'])
  const status = rec(svc['status'])
  w.field(0, 'Name', nameOf(svc))
  w.field(0, 'Namespace', namespaceOf(svc))
  w.labels('Labels', m['labels'])
  w.annotations('Annotations', m['annotations'])
  w.field(0, 'Selector', formatLabels(spec['selector']))
  w.field(0, 'Type', str(spec['type']))
  if (str(spec['ipFamilyPolicy']) !== '') w.field(0, 'IP Family Policy', str(spec['ipFamilyPolicy']))
  w.field(0, 'IP Families', strs(spec['ipFamilies']).join(',') || '<none>')
  w.field(0, 'IP', str(spec['clusterIP']))
  w.field(0, 'IPs', strs(spec['clusterIPs']).join(',') || '<none>')
  if (strs(spec['externalIPs']).length > 0) w.field(0, 'External IPs', strs(spec['externalIPs']).join(','))
  if (str(spec['loadBalancerIP']) !== '') w.field(0, 'IP', str(spec['loadBalancerIP']))
  if (str(spec['externalName']) !== '') w.field(0, 'External Name', str(spec['externalName']))
  const ingress = recs(rec(status['loadBalancer'])['ingress']).map(i => str(i['ip']) || str(i['hostname'])).filter(s => s !== '')
  if (ingress.length > 0) w.field(0, 'LoadBalancer Ingress', ingress.join(', '))
  for (const p of recs(spec['ports'])) {
    const name = str(p['name']) || '<unset>'
    const protocol = str(p['protocol']) || 'TCP'
    w.write(0, `Port:\t${name}\t${num(p['port'])}/${protocol}\n`)
    w.field(0, 'TargetPort', `${str(p['targetPort']) || String(num(p['port']))}/${protocol}`)
    if (num(p['nodePort']) !== 0) w.write(0, `NodePort:\t${name}\t${num(p['nodePort'])}/${protocol}\n`)
    w.field(0, 'Endpoints', endpointsFor(endpoints, str(p['name'])))
  }
  w.field(0, 'Session Affinity', str(spec['sessionAffinity']))
  if (str(spec['externalTrafficPolicy']) !== '') w.field(0, 'External Traffic Policy', str(spec['externalTrafficPolicy']))
  if (str(spec['internalTrafficPolicy']) !== '') w.field(0, 'Internal Traffic Policy', str(spec['internalTrafficPolicy']))
  if (num(spec['healthCheckNodePort']) !== 0) w.field(0, 'HealthCheck NodePort', num(spec['healthCheckNodePort']))
  if (strs(spec['loadBalancerSourceRanges']).length > 0) w.field(0, 'LoadBalancer Source Ranges', strs(spec['loadBalancerSourceRanges']).join(','))
  w.events(events)
}

/** Shoal has no ResourceQuota or LimitRange kinds, so a namespace never has any. */
export function describeNamespace (w: DescribeWriter, ns: Obj, events: readonly Obj[] | undefined): void {
  const m = meta(ns)
  w.field(0, 'Name', nameOf(ns))
  w.labels('Labels', m['labels'])
  w.annotations('Annotations', m['annotations'])
  w.field(0, 'Status', str(rec(ns['status'])['phase']))
  w.write(0, '\nNo resource quota.\n\nNo LimitRange resource.\n')
  w.events(events)
}

export function describeConfigMap (w: DescribeWriter, cm: Obj, events: readonly Obj[] | undefined): void {
  const m = meta(cm)
  w.field(0, 'Name', nameOf(cm))
  w.field(0, 'Namespace', namespaceOf(cm))
  w.labels('Labels', m['labels'])
  w.annotations('Annotations', m['annotations'])
  w.write(0, '\nData\n====\n')
  for (const [k, v] of sortedEntries(cm['data'])) w.write(0, `${k}:\n----\n${v}\n\n`)
  w.write(0, '\nBinaryData\n====\n')
  for (const [k, v] of sortedEntries(cm['binaryData'])) w.write(0, `${k}: ${Buffer.from(v, 'base64').length} bytes\n`)
  w.write(0, '\n')
  w.events(events)
}

export function describeEndpoints (w: DescribeWriter, ep: Obj, events: readonly Obj[] | undefined): void {
  const m = meta(ep)
  w.field(0, 'Name', nameOf(ep))
  w.field(0, 'Namespace', namespaceOf(ep))
  w.labels('Labels', m['labels'])
  w.annotations('Annotations', m['annotations'])
  w.write(0, 'Subsets:\n')
  for (const subset of recs(ep['subsets'])) {
    w.field(1, 'Addresses', recs(subset['addresses']).map(a => str(a['ip'])).join(',') || '<none>')
    w.field(1, 'NotReadyAddresses', recs(subset['notReadyAddresses']).map(a => str(a['ip'])).join(',') || '<none>')
    const ports = recs(subset['ports'])
    if (ports.length > 0) {
      w.write(1, 'Ports:\n')
      w.write(2, 'Name\tPort\tProtocol\n')
      w.write(2, '----\t----\t--------\n')
      for (const p of ports) w.write(2, `${str(p['name']) || '<unset>'}\t${num(p['port'])}\t${str(p['protocol']) || 'TCP'}\n`)
    }
    w.write(0, '\n')
  }
  w.events(events)
}

/** kubectl's `smartLabelFor`: `involvedObject` → `Involved Object`, `apiVersion` → `API Version`. */
export function smartLabel (field: string): string {
  if (/[^A-Za-z-]/.test(field)) return field
  const parts = field.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[A-Z]+|-+/g) ?? [field]
  return parts.map(p => ['API', 'URL', 'UID', 'OSB', 'GUID'].includes(p.toUpperCase()) ? p.toUpperCase() : p.charAt(0).toUpperCase() + p.slice(1)).join(' ')
}

/** `printUnstructuredContent`: every field sorted, maps and lists of maps one level deeper. */
function printContent (w: DescribeWriter, level: number, content: Obj, path: string, skip: ReadonlySet<string>): void {
  for (const field of Object.keys(content).sort()) {
    const here = `${path}.${field}`
    if (skip.has(here)) continue
    const value = content[field]
    if (Array.isArray(value)) {
      w.write(level, `${smartLabel(field)}:\n`)
      for (const child of value) {
        if (typeof child === 'object' && child !== null && !Array.isArray(child)) printContent(w, level + 1, child as Obj, here, skip)
        else w.write(level + 1, `${goValue(child)}\n`)
      }
    } else if (typeof value === 'object' && value !== null) {
      w.write(level, `${smartLabel(field)}:\n`)
      printContent(w, level + 1, value as Obj, here, skip)
    } else {
      w.write(level, `${smartLabel(field)}:\t${goValue(value)}\n`)
    }
  }
}

/** Go's `%v` of a JSON scalar. */
function goValue (v: unknown): string {
  if (v === null || v === undefined) return '<nil>'
  return typeof v === 'object' ? JSON.stringify(v) : String(v)
}

const GENERIC_SKIP = new Set(['.metadata.managedFields', '.metadata.name', '.metadata.namespace', '.metadata.labels', '.metadata.annotations'])

/** kubectl's genericDescriber, for Events and any kind without a printer of its own. */
export function describeGeneric (w: DescribeWriter, o: Obj, events: readonly Obj[] | undefined): void {
  const m = meta(o)
  w.field(0, 'Name', nameOf(o))
  w.field(0, 'Namespace', namespaceOf(o))
  w.labels('Labels', m['labels'])
  w.annotations('Annotations', m['annotations'])
  printContent(w, 0, o, '', GENERIC_SKIP)
  w.events(events)
}
