// Metrics (issue 19): node.metrics(), and registerMetrics serving them from
// a prom-client Registry, read back through the text a scrape would get.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { Counter, Registry } from 'prom-client'
import { ClosedError, RumourError, registerMetrics } from '../index.mjs'
import { closeAll, cluster, waitUntil } from './helpers.mjs'

after(closeAll)

/** Label values as the text format escapes them. */
const unescape = (v) => v.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c))

/**
 * The Prometheus text format, read back: `help` and `type` by family name,
 * and every sample line as { name, labels, value }.
 */
function parse(text) {
  const help = new Map()
  const type = new Map()
  const samples = []
  for (const line of text.split('\n')) {
    if (line === '' || line === '# EOF') continue
    let m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line)
    if (m) {
      ;(m[1] === 'HELP' ? help : type).set(m[2], m[3])
      continue
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    assert.ok(m, `not a sample line: ${line}`)
    const labels = {}
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = unescape(v)
    const value = m[3] === '+Inf' ? Infinity : Number(m[3])
    assert.ok(!Number.isNaN(value), `not a number: ${line}`)
    samples.push({ name: m[1], labels, value })
  }
  return { help, type, samples }
}

/** The samples named `name` whose labels include `labels`. */
const find = (parsed, name, labels) =>
  parsed.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))

/** The one value of `name` with `labels`. */
function one(parsed, name, labels) {
  const found = find(parsed, name, labels)
  assert.equal(found.length, 1, `${name} ${JSON.stringify(labels)}: ${found.length} samples`)
  return found[0].value
}

/** The exposition names the README promises: underscores, `_total` on counters. */
const exposed = (sample) => sample.name.replaceAll('.', '_') + (sample.kind === 'counter' ? '_total' : '')

test('node.metrics() gives every metric, histograms cumulative in ms', async () => {
  const [a, b] = await cluster(2, 'mx')
  assert.ok(await waitUntil(() => a.metrics().find((s) => s.name === 'memberlist.probeNode').count > 0))
  const samples = a.metrics()
  assert.ok(Object.isFrozen(samples[0]) && Object.isFrozen(samples[0].labels))
  const probe = samples.find((s) => s.name === 'memberlist.probeNode')
  assert.deepEqual([probe.kind, probe.unit, probe.value], ['histogram', 'ms', undefined])
  const counts = probe.buckets.map(([, n]) => n)
  assert.deepEqual(counts, [...counts].sort((x, y) => x - y), 'buckets are cumulative')
  assert.deepEqual(probe.buckets.at(-1), [Infinity, probe.count])
  assert.ok(probe.sum > 0)
  const alive = samples.find((s) => s.name === 'memberlist.node.instances' && s.labels.node_state === 'alive')
  assert.deepEqual([alive.kind, alive.value], ['gauge', 2])
  assert.ok(samples.find((s) => s.name === 'memberlist.msg.alive').value > 0)
  await a.close()
  assert.throws(() => a.metrics(), ClosedError)
  await b.close()
})

test('registerMetrics serves every family of every node to a prom-client registry', async () => {
  const nodes = await cluster(3, 'pm')
  const converged = () =>
    nodes.every((n) => n.members().length === 3) && new Set(nodes.map((n) => n.digest())).size === 1
  assert.ok(await waitUntil(converged, 15000), 'the cluster converged')
  // Every node has timed a probe, so the histograms hold something.
  const probed = (n) => n.metrics().find((s) => s.name === 'memberlist.probeNode').count > 0
  assert.ok(await waitUntil(() => nodes.every(probed), 15000), 'every node probed')

  const registry = new Registry()
  const handle = registerMetrics(registry, ...nodes)
  const parsed = parse(await registry.metrics())

  for (const node of nodes) {
    const labels = { node: node.name }
    for (const sample of node.metrics()) {
      // prom-client names a family as its series (counters with `_total`).
      const name = exposed(sample)
      assert.equal(parsed.type.get(name), sample.kind, `# TYPE ${name}`)
      assert.ok(parsed.help.get(name)?.startsWith(sample.help.replace(/\.$/, '')), `# HELP ${name}`)
      const series = sample.kind === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name]
      for (const s of series) {
        assert.ok(find(parsed, s, { ...labels, ...sample.labels }).length > 0, `${s} for ${node.name}`)
      }
    }
    assert.equal(one(parsed, 'memberlist_node_instances', { ...labels, node_state: 'alive' }), node.members().length)
    assert.equal(one(parsed, 'memberlist_node_instances', { ...labels, node_state: 'alive' }), 3)
    assert.ok(one(parsed, 'memberlist_msg_alive_total', labels) > 0)
    assert.ok(one(parsed, 'memberlist_udp_sent_total', labels) > 0)

    const buckets = find(parsed, 'memberlist_probeNode_bucket', labels)
    assert.equal(buckets.length, 16)
    assert.equal(buckets.at(-1).labels.le, '+Inf')
    for (let i = 1; i < buckets.length; i++) {
      assert.ok(buckets[i].value >= buckets[i - 1].value, `cumulative at le=${buckets[i].labels.le}`)
      if (i < buckets.length - 1) assert.ok(Number(buckets[i].labels.le) > Number(buckets[i - 1].labels.le))
    }
    const count = one(parsed, 'memberlist_probeNode_count', labels)
    assert.ok(count > 0)
    assert.equal(count, buckets.at(-1).value)
    assert.ok(one(parsed, 'memberlist_probeNode_sum', labels) > 0)
  }

  // OpenMetrics (a registry of its own: prom-client renames counters for
  // good once it writes them so): the counter family loses `_total`, each
  // line keeps it, so the series names stay the same.
  const openRegistry = new Registry(Registry.OPENMETRICS_CONTENT_TYPE)
  const openHandle = registerMetrics(openRegistry, ...nodes)
  const open = parse(await openRegistry.metrics())
  assert.equal(open.type.get('memberlist_msg_alive'), 'counter')
  assert.ok(one(open, 'memberlist_msg_alive_total', { node: nodes[0].name }) > 0)
  openHandle.unregister()
  assert.equal(openRegistry.getMetricsAsArray().length, 0)

  // A closed node is skipped, without an error; the others go on.
  const [gone, ...rest] = nodes
  await gone.close()
  const afterClose = parse(await registry.metrics())
  assert.equal(afterClose.samples.filter((s) => s.labels.node === gone.name).length, 0)
  for (const node of rest) assert.ok(one(afterClose, 'memberlist_udp_sent_total', { node: node.name }) > 0)

  // remove() and add(): the handle decides which nodes are reported.
  assert.equal(handle.remove(rest[0]), true)
  assert.equal(handle.remove(rest[0]), false)
  let now = parse(await registry.metrics())
  assert.equal(find(now, 'memberlist_udp_sent_total', { node: rest[0].name }).length, 0)
  handle.add(rest[0])
  handle.add(rest[0])
  now = parse(await registry.metrics())
  assert.equal(find(now, 'memberlist_udp_sent_total', { node: rest[0].name }).length, 1)

  handle.unregister()
  handle.unregister()
  assert.equal(registry.getMetricsAsArray().length, 0)
  for (const node of rest) await node.close()
})

test('bad arguments throw a TypeError naming the argument, and a clash registers nothing', async () => {
  const [node] = await cluster(1, 'pm-args')
  const registry = new Registry()
  const cases = [
    [() => registerMetrics(undefined, node), 'registry'],
    [() => registerMetrics(null), 'registry'],
    [() => registerMetrics({ registerMetric() {} }, node), 'registry'],
    [() => registerMetrics(node, node), 'registry'],
    [() => registerMetrics(registry, 'pm-args'), 'nodes[0]'],
    [() => registerMetrics(registry, node, {}), 'nodes[1]'],
  ]
  for (const [call, field] of cases) {
    assert.throws(call, (err) => {
      assert.ok(err instanceof TypeError, `${err}`)
      assert.equal(err.field, field)
      assert.ok(err.message.startsWith(`${field} must be`), err.message)
      return true
    })
  }
  assert.equal(registry.getMetricsAsArray().length, 0, 'a bad argument registers nothing')

  // The registry's own metrics stay; a second registration is refused whole.
  const mine = new Counter({ name: 'app_requests_total', help: 'Requests.', registers: [registry] })
  const handle = registerMetrics(registry, node)
  const registered = registry.getMetricsAsArray().length
  assert.equal(registered, node.metrics().reduce((names, s) => names.add(s.name), new Set()).size + 1)
  assert.throws(() => registerMetrics(registry, node), (err) => err instanceof RumourError && err.field === 'registry')
  assert.equal(registry.getMetricsAsArray().length, registered)
  assert.throws(() => handle.add('pm-args'), (err) => err instanceof TypeError && err.field === 'node')
  handle.unregister()
  assert.deepEqual(registry.getMetricsAsArray(), [mine])
  await node.close()
})
