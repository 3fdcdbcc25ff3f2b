// Checked by `npm run typecheck`, never run (and kept out of test/, where
// a newer Node would take a .ts file for a test): rumour's structural
// MetricsRegistry must accept prom-client's own Registry and global
// register, and refuse what is not a registry or not a node.
import { Registry, register } from 'prom-client'
import { Node, registerMetrics, type MetricSample } from '../index.js'

export function typesFit(node: Node): number {
  const handle = registerMetrics(new Registry(), node)
  registerMetrics(register)
  registerMetrics(new Registry<'application/openmetrics-text; version=1.0.0; charset=utf-8'>())
  handle.add(node)
  const removed: boolean = handle.remove(node)
  handle.unregister()
  // @ts-expect-error not a registry
  registerMetrics({}, node)
  // @ts-expect-error not a node
  registerMetrics(new Registry(), 'a')
  const sample: MetricSample = node.metrics()[0]
  return (sample.kind === 'histogram' ? sample.buckets[0][1] + sample.count : sample.value) + Number(removed)
}
