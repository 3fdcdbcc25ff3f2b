// rumour for Node: gossip membership speaking the HashiCorp memberlist
// protocol, with a replicated key-value map. The native addon (native.js,
// built by napi-rs) does the work; this layer gives it an EventEmitter,
// Promises, async iterators, typed errors and prom-client collectors.
// Types: index.d.ts.
'use strict'

const { EventEmitter } = require('node:events')
const native = loadNative()

/**
 * The native addon: beside this file in a source checkout (`npm run
 * build`), else the platform package npm installed as an optional
 * dependency (rumour-linux-x64-gnu). When neither is there, say which
 * package is missing rather than napi-rs's generic message.
 */
function loadNative() {
  try {
    return require('./native.js')
  } catch (cause) {
    let libc = ''
    if (process.platform === 'linux') {
      const glibc = process.report?.getReport?.()?.header?.glibcVersionRuntime
      libc = glibc ? '-gnu' : '-musl'
    }
    const wanted = `rumour-${process.platform}-${process.arch}${libc}`
    const err = new Error(
      `rumour: no native addon for ${process.platform}-${process.arch}${libc}: the package ${wanted} is not ` +
        'installed (prebuilt: rumour-linux-x64-gnu). Reinstall without --no-optional / --omit=optional, or build ' +
        'from a source checkout (Rust needed): cd bindings-node && npm install && npm run build.',
      { cause },
    )
    err.code = 'RUMOUR_NO_NATIVE_ADDON'
    throw err
  }
}

// ---- errors ----

/**
 * Base of every rumour error; `field` names the argument or config field at
 * fault, and `code` the class as a stable string (Node's convention), for
 * code that tests `err.code` rather than `instanceof`.
 */
class RumourError extends Error {
  static code = 'RUMOUR_ERROR'
  constructor(message, field) {
    super(message)
    this.name = new.target.name
    this.code = new.target.code
    this.field = field || undefined
  }
}
class StartError extends RumourError {
  static code = 'RUMOUR_START'
}
class JoinError extends RumourError {
  static code = 'RUMOUR_JOIN'
}
/** `joined()` waited its whole timeout; the node keeps trying its seeds. */
class JoinTimeoutError extends JoinError {
  static code = 'RUMOUR_JOIN_TIMEOUT'
}
class NodeError extends RumourError {
  static code = 'RUMOUR_NODE'
}
class ClosedError extends NodeError {
  static code = 'RUMOUR_CLOSED'
}
class TooLargeError extends NodeError {
  static code = 'RUMOUR_TOO_LARGE'
}
class UnknownMemberError extends NodeError {
  static code = 'RUMOUR_UNKNOWN_MEMBER'
}
class LeftError extends NodeError {
  static code = 'RUMOUR_LEFT'
}
class KeyringError extends NodeError {
  static code = 'RUMOUR_KEYRING'
}
class LeaveTimeoutError extends NodeError {
  static code = 'RUMOUR_LEAVE_TIMEOUT'
}
class StateError extends NodeError {
  static code = 'RUMOUR_STATE'
}

const KINDS = {
  Start: StartError,
  Join: JoinError,
  JoinTimeout: JoinTimeoutError,
  Node: NodeError,
  Closed: ClosedError,
  TooLarge: TooLargeError,
  UnknownMember: UnknownMemberError,
  Left: LeftError,
  Keyring: KeyringError,
  LeaveTimeout: LeaveTimeoutError,
  State: StateError,
}

/**
 * A bad argument's TypeError: `field` names it (when there is one) and
 * `code` is 'RUMOUR_INVALID_ARG', so callers can test `err.code` for
 * these as for the rumour error classes.
 */
function typeError(message, field) {
  return withCode(new TypeError(message), 'RUMOUR_INVALID_ARG', field)
}

/** A value out of its range, as a RangeError with `field` and code 'RUMOUR_OUT_OF_RANGE'. */
function rangeError(message, field) {
  return withCode(new RangeError(message), 'RUMOUR_OUT_OF_RANGE', field)
}

function withCode(err, code, field) {
  err.code = code
  if (field) err.field = field
  return err
}

/** A native error ("kind|field|text") as the typed error it stands for. */
function translate(err) {
  const parts = typeof err?.message === 'string' ? err.message.split('|') : []
  if (parts.length < 3) return err
  const [kind, field] = parts
  const text = parts.slice(2).join('|')
  if (kind === 'Range') return rangeError(text, field)
  if (kind === 'Type') return typeError(text, field)
  return new (KINDS[kind] || RumourError)(text, field)
}

function call(fn) {
  try {
    return fn()
  } catch (err) {
    throw translate(err)
  }
}

async function callAsync(promise) {
  try {
    return await promise
  } catch (err) {
    throw translate(err)
  }
}

// ---- config ----

const STRING = ['name', 'bind', 'label']
const NUMBER = [
  'protocolVersion', 'tcpTimeout', 'indirectChecks', 'retransmitMult', 'suspicionMult',
  'suspicionMaxTimeoutMult', 'pushPullInterval', 'probeInterval', 'probeTimeout',
  'awarenessMaxMultiplier', 'gossipNodes', 'gossipInterval', 'gossipToTheDeadTime',
  'deadNodeReclaimTime', 'udpBufferSize', 'broadcastQueueDepth', 'stateMaxValueBytes',
  'stateMaxEntries', 'stateMaxBytes', 'stateTombstoneGrace', 'retryJoinInterval', 'retryJoinMaxInterval',
  'retryJoinMaxAttempts', 'tcpFirstByteTimeout', 'tcpMaxIncoming', 'tcpMaxIncomingPerSource',
  'tcpReservedForMembers',
]
const INTEGER = new Set([
  'protocolVersion', 'indirectChecks', 'retransmitMult', 'suspicionMult', 'suspicionMaxTimeoutMult',
  'awarenessMaxMultiplier', 'gossipNodes', 'udpBufferSize', 'broadcastQueueDepth', 'stateMaxValueBytes',
  'stateMaxEntries', 'retryJoinMaxAttempts', 'tcpMaxIncoming', 'tcpMaxIncomingPerSource', 'tcpReservedForMembers',
])
const BOOLEAN = [
  'disableTcpPings', 'gossipVerifyIncoming', 'gossipVerifyOutgoing', 'enableCompression', 'rawUserMessages',
  'gossipToSeeds',
]

function toBuffer(value, field) {
  if (Buffer.isBuffer(value)) return value
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  if (typeof value === 'string') return Buffer.from(value)
  throw typeError(`${field} must be a Buffer, Uint8Array or string, not ${typeof value}`, field)
}

function checkConfig(cfg) {
  const bad = (field, what) =>
    typeError(`config field \`${field}\` must be ${what}, not ${JSON.stringify(cfg[field])}`, field)
  for (const f of STRING) if (typeof cfg[f] !== 'string') throw bad(f, 'a string')
  for (const f of NUMBER) {
    const v = cfg[f]
    if (typeof v !== 'number' || Number.isNaN(v)) throw bad(f, 'a number')
    if (INTEGER.has(f) && (!Number.isInteger(v) || v < 0 || v > 0xffffffff)) {
      throw rangeError(`config field \`${f}\` must be a whole number >= 0, not ${v}`, f)
    }
  }
  for (const f of BOOLEAN) if (typeof cfg[f] !== 'boolean') throw bad(f, 'a boolean')
  if (cfg.advertise !== undefined && cfg.advertise !== null && typeof cfg.advertise !== 'string') {
    throw bad('advertise', 'a "host:port" string')
  }
  if (cfg.peersFile === null) cfg.peersFile = undefined
  if (cfg.peersFile !== undefined && typeof cfg.peersFile !== 'string') {
    throw bad('peersFile', 'a path string (or null for none)')
  }
  if (!Array.isArray(cfg.seeds) || cfg.seeds.some((s) => typeof s !== 'string')) {
    throw bad('seeds', 'an array of "host:port" strings')
  }
  if (!Array.isArray(cfg.keys)) throw bad('keys', 'an array of Buffers')
  cfg.keys = cfg.keys.map((k) => toBuffer(k, 'keys'))
  cfg.meta = toBuffer(cfg.meta, 'meta')
}

function preset(name, overrides) {
  const cfg = call(() => native.configPreset(name))
  if (overrides !== undefined && (overrides === null || typeof overrides !== 'object')) {
    throw typeError('config overrides must be an object', 'overrides')
  }
  for (const [key, value] of Object.entries(overrides || {})) {
    if (!(key in cfg) && key !== 'advertise' && key !== 'peersFile') {
      throw typeError(`unknown config field \`${key}\``, key)
    }
    cfg[key] = value
  }
  checkConfig(cfg)
  call(() => native.validateConfig(cfg))
  cfg.seeds = Object.freeze([...cfg.seeds])
  cfg.keys = Object.freeze([...cfg.keys])
  return Object.freeze(cfg)
}

/** Configuration presets equal to memberlist's; durations in milliseconds. */
const Config = Object.freeze({
  lan: (overrides) => preset('lan', overrides),
  wan: (overrides) => preset('wan', overrides),
  local: (overrides) => preset('local', overrides),
})

// ---- events ----

const EVENT_KINDS = [
  'memberJoined', 'memberUpdated', 'memberSuspect', 'memberRecovered', 'memberFailed', 'memberLeft',
  'message', 'stateChanged', 'remoteState', 'eventsLost', 'joined', 'joinGaveUp',
]
const DEPTH = 4096

function member(m) {
  return Object.freeze({ ...m })
}

function toEvent(ev) {
  switch (ev.kind) {
    case 'message':
      return Object.freeze({ type: 'message', from: ev.from ?? null, kind: ev.messageKind, data: ev.data })
    case 'stateChanged':
      return Object.freeze({
        type: 'stateChanged',
        key: ev.key,
        value: ev.value ?? null,
        writer: ev.writer,
        timestamp: BigInt(ev.timestamp),
      })
    case 'remoteState':
      return Object.freeze({ type: 'remoteState', data: ev.data })
    case 'eventsLost':
      return Object.freeze({ type: 'eventsLost', count: ev.count })
    case 'joined':
      return Object.freeze({ type: 'joined', via: ev.via })
    case 'joinGaveUp':
      return Object.freeze({ type: 'joinGaveUp', attempts: ev.attempts, failures: seedFailures(ev.failures) })
    default:
      return Object.freeze({ type: ev.kind, member: member(ev.member) })
  }
}

const MESSAGE_KINDS = ['broadcast', 'direct', 'plain']

/**
 * The events of a native batch, oldest first (src/lib.rs `NativeBatch`):
 * tagged records in `packed` (0: the next of `others`; 1: message;
 * 2: stateChanged; 3: eventsLost), little-endian, strings and bytes as a
 * u32 length and the bytes. Payloads are copied out of the batch's buffer.
 */
function unpack({ packed: buf, others }) {
  const events = []
  let at = 0
  let other = 0
  const bytes = () => {
    const n = buf.readUInt32LE(at)
    const out = Buffer.allocUnsafe(n)
    buf.copy(out, 0, at + 4, at + 4 + n)
    at += 4 + n
    return out
  }
  const text = () => {
    const n = buf.readUInt32LE(at)
    const out = buf.toString('utf8', at + 4, at + 4 + n)
    at += 4 + n
    return out
  }
  while (at < buf.length) {
    switch (buf[at++]) {
      case 1: {
        const from = buf[at++] ? text() : null
        const kind = MESSAGE_KINDS[buf[at++]]
        events.push(Object.freeze({ type: 'message', from, kind, data: bytes() }))
        break
      }
      case 2: {
        const key = text()
        const value = buf[at++] ? bytes() : null
        const writer = text()
        const timestamp = buf.readBigUInt64LE(at)
        at += 8
        events.push(Object.freeze({ type: 'stateChanged', key, value, writer, timestamp }))
        break
      }
      case 3:
        events.push(Object.freeze({ type: 'eventsLost', count: Number(buf.readBigUInt64LE(at)) }))
        at += 8
        break
      default:
        events.push(toEvent(others[other++]))
    }
  }
  return events
}

/** One subscription: an async iterator over a bounded queue. */
class Subscription {
  #queue = []
  #waiting = null
  #lost = 0
  #done = false
  #filter
  #onEnd

  constructor(filter, onEnd) {
    this.#filter = filter
    this.#onEnd = onEnd
  }

  offer(event) {
    // A loss upstream may have hidden events of any kind: always say so.
    if (this.#done || (event.type !== 'eventsLost' && !this.#filter(event))) return
    if (event.type === 'eventsLost') {
      this.#lost += event.count
      if (this.#queue.length >= DEPTH) return
      event = Object.freeze({ type: 'eventsLost', count: this.#lost })
      this.#lost = 0
    }
    if (this.#waiting) {
      const resolve = this.#waiting
      this.#waiting = null
      resolve({ value: event, done: false })
      return
    }
    if (this.#queue.length >= DEPTH) {
      this.#lost += 1
      return
    }
    if (this.#lost) {
      this.#queue.push(Object.freeze({ type: 'eventsLost', count: this.#lost }))
      this.#lost = 0
    }
    this.#queue.push(event)
  }

  end() {
    this.#done = true
    if (this.#waiting) {
      const resolve = this.#waiting
      this.#waiting = null
      resolve({ value: undefined, done: true })
    }
  }

  next() {
    if (this.#queue.length) return Promise.resolve({ value: this.#queue.shift(), done: false })
    if (this.#lost) {
      const count = this.#lost
      this.#lost = 0
      return Promise.resolve({ value: Object.freeze({ type: 'eventsLost', count }), done: false })
    }
    if (this.#done) return Promise.resolve({ value: undefined, done: true })
    return new Promise((resolve) => {
      this.#waiting = resolve
    })
  }

  return() {
    this.end()
    this.#queue = []
    this.#onEnd(this)
    return Promise.resolve({ value: undefined, done: true })
  }

  [Symbol.asyncIterator]() {
    return this
  }
}

// ---- the node ----

const asyncDispose = Symbol.asyncDispose ?? Symbol.for('nodejs.asyncDispose')

/** The longest delay setTimeout honours, in ms. */
const MAX_TIMER = 2 ** 31 - 1

/** Seed failures from the addon, frozen: `[{ seed, reason }]`. */
function seedFailures(failures) {
  return Object.freeze(failures.map((f) => Object.freeze({ seed: f.seed, reason: f.reason })))
}

/** The JoinError of a node that gave up: attempts made, the last one's failures. */
function gaveUp({ attempts, failures }) {
  const list = failures.map((f) => `${f.seed} (${f.reason})`).join(', ')
  return Object.assign(new JoinError(`gave up joining after ${attempts} attempts; last: ${list}`), {
    attempts,
    failures: seedFailures(failures),
  })
}

/**
 * A cluster member. `Node.start(config)` binds its sockets and starts it;
 * it joins `config.seeds` in the background, trying until one answers
 * (`await node.joined()` waits for that). It is an EventEmitter of the member and message
 * events; `events()` gives an async iterator instead. A running node keeps
 * the process alive, as a server does; after `close()` resolves the process
 * may exit, and no event is emitted any more.
 */
class Node extends EventEmitter {
  #native
  #closed = false
  #closing = null
  #subs = new Set()
  /** Pending `joined()` calls, rejected at close. */
  #joinWaits = new Set()

  constructor(token) {
    super()
    if (token !== Node.#token) throw typeError('use `await Node.start(config)`')
  }

  static #token = Symbol('rumour.Node')

  /**
   * Starts a node. It joins `config.seeds` in the background, trying until
   * one answers, so it never fails because a seed is down: start nodes in
   * any order, and `await node.joined()` for the moment it joins.
   */
  static async start(config = Config.lan()) {
    if (config === null || typeof config !== 'object' || typeof config.probeInterval !== 'number') {
      throw typeError('config must come from Config.lan(), Config.wan() or Config.local()', 'config')
    }
    const node = new Node(Node.#token)
    const startConfig = { ...config, seeds: [...config.seeds], keys: [...config.keys] }
    node.#native = call(() => native.NativeNode.start(startConfig, (batch) => node.#deliver(batch)))
    return node
  }

  /**
   * Resolves with the peer's "host:port" once this node has joined a
   * cluster (a seed answered, or a peer joined it); at once if it has.
   * Rejects with JoinTimeoutError after `timeout` ms (none or Infinity: no
   * limit; the node keeps trying), JoinError (with `attempts` and
   * `failures`) when it gave up after `retryJoinMaxAttempts`, ClosedError
   * when the node closes first, `signal.reason` when aborted.
   * Waits on the event loop, not on a worker thread: it keeps the process
   * alive no longer than the node itself does, and close() ends it.
   */
  joined({ timeout, signal } = {}) {
    if (timeout !== undefined && typeof timeout !== 'number') {
      return Promise.reject(typeError(`timeout must be a number of ms, not ${typeof timeout}`, 'timeout'))
    }
    if (timeout !== undefined && !(timeout >= 0)) {
      return Promise.reject(rangeError(`timeout must be >= 0 ms, not ${timeout}`, 'timeout'))
    }
    return new Promise((resolve, reject) => {
      let timer = null
      let poll = null
      const done = (fn, value) => {
        clearTimeout(timer)
        clearInterval(poll)
        this.#joinWaits.delete(onClose)
        this.off('joined', onJoined)
        signal?.removeEventListener('abort', onAbort)
        fn(value)
      }
      const check = () => {
        let status
        try {
          status = call(() => this.#n().joinStatus())
        } catch (err) {
          done(reject, err)
          return true
        }
        if (status.state === 'joined') {
          done(resolve, status.via)
          return true
        }
        if (status.state === 'gaveUp') {
          done(reject, gaveUp(status))
          return true
        }
        return false
      }
      const onJoined = (ev) => done(resolve, ev.via)
      const onClose = () => done(reject, new ClosedError('the node closed before it joined'))
      const onAbort = () => done(reject, signal.reason)
      if (signal?.aborted) return reject(signal.reason)
      if (check()) return
      this.on('joined', onJoined)
      this.#joinWaits.add(onClose)
      signal?.addEventListener('abort', onAbort, { once: true })
      // Giving up raises no event: look now and then.
      poll = setInterval(check, 250)
      poll.unref?.()
      if (timeout !== undefined && timeout !== Infinity) {
        // setTimeout fires at once past 2^31 - 1 ms: wait in steps.
        const deadline = Date.now() + timeout
        const arm = () => {
          const left = deadline - Date.now()
          if (left > MAX_TIMER) {
            timer = setTimeout(arm, MAX_TIMER)
            return
          }
          timer = setTimeout(
            () => done(reject, new JoinTimeoutError(`not joined within ${timeout} ms: no seed or peer has answered yet`)),
            Math.max(left, 0),
          )
        }
        arm()
      }
    })
  }

  /** A batch from the dispatch thread (one crossing), fanned out here in order. */
  #deliver(batch) {
    if (this.#closed) return
    for (const event of unpack(batch)) {
      if (this.#closed) return
      for (const sub of this.#subs) sub.offer(event)
      try {
        this.emit(event.type, event)
      } catch (err) {
        // A listener threw: report it without disturbing the node.
        if (this.listenerCount('error') > 0) this.emit('error', err)
        else process.nextTick(() => { throw err })
      }
    }
  }

  #n() {
    if (this.#closed || this.#closing) throw new ClosedError('the node is closed')
    return this.#native
  }

  /** This node's name. */
  get name() {
    return this.#native.name
  }

  /** The address peers reach this node at, "host:port". */
  get addr() {
    return this.#native.addr
  }

  /** The address the sockets are bound to. */
  get boundAddr() {
    return this.#native.boundAddr
  }

  /** Whether `close()` has been called. */
  get closed() {
    return this.#closed || this.#closing !== null
  }

  /** This node as its peers see it. */
  get local() {
    return member(call(() => this.#n().local()))
  }

  /** Joins through `seeds`; resolves with how many answered. */
  async join(seeds, { signal } = {}) {
    const list = typeof seeds === 'string' ? [seeds] : seeds
    if (!Array.isArray(list) || list.some((s) => typeof s !== 'string')) {
      throw typeError('seeds must be a "host:port" string or an array of them', 'seeds')
    }
    signal?.throwIfAborted()
    const joining = callAsync(call(() => this.#n().join(list)))
    if (!signal) return joining
    return new Promise((resolve, reject) => {
      const abort = () => reject(signal.reason)
      signal.addEventListener('abort', abort, { once: true })
      joining.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort))
    })
  }

  /** Leaves gracefully: peers see this node as left, not failed. */
  async leave({ timeoutMs = 5000 } = {}) {
    await callAsync(call(() => this.#n().leave(timeoutMs)))
  }

  /**
   * Stops the node after delivering the events already produced. Safe to
   * call twice. Without `leave()` first, the others see this node fail,
   * and what is still queued for gossip (a broadcast or state write made
   * since the last gossip round) is not sent: a crash, for them.
   */
  close() {
    for (const cancel of [...this.#joinWaits]) cancel()
    if (!this.#closing) {
      this.#closing = callAsync(this.#native.close()).then(() => {
        this.#closed = true
        for (const sub of this.#subs) sub.end()
        this.#subs.clear()
      })
    }
    return this.#closing
  }

  /** `await using node = ...`: leaves (as Python's `async with` does), then closes. */
  async [asyncDispose]() {
    try {
      if (!this.closed) await this.leave()
    } catch (err) {
      if (!(err instanceof NodeError)) throw err
    } finally {
      await this.close()
    }
  }

  /**
   * A short hash (16 hex digits) of how this node sees the cluster; the same
   * on every node of a converged cluster.
   */
  digest() {
    return call(() => this.#n().digest())
  }

  /** Members alive or suspect, this node included. */
  members() {
    return call(() => this.#n().members()).map(member)
  }

  /** One member by name, in any state this node remembers; null when unknown. */
  member(name) {
    if (typeof name !== 'string') throw typeError('name must be a string', 'name')
    const m = call(() => this.#n().member(name))
    return m ? member(m) : null
  }

  /** Spreads `data` to every member, each delivering it once. */
  async broadcast(data) {
    call(() => this.#n().broadcast(toBuffer(data, 'data')))
  }

  /** Sends `data` to one member: a packet when it fits, else TCP (always TCP with `reliable`). */
  async send(to, data, { reliable = false } = {}) {
    const name = typeof to === 'object' && to !== null ? to.name : to
    if (typeof name !== 'string') throw typeError('to must be a member or its name', 'to')
    call(() => this.#n().send(name, toBuffer(data, 'data'), Boolean(reliable)))
  }

  /** Replaces this node's metadata (at most 512 bytes) and tells everyone. */
  async setMeta(meta) {
    call(() => this.#n().setMeta(toBuffer(meta, 'meta')))
  }

  /** Push-pull user state for Go memberlist peers. */
  async setLocalState(data) {
    call(() => this.#n().setLocalState(toBuffer(data, 'data')))
  }

  /** Counters of the protocol and the runtime. */
  stats() {
    return Object.fromEntries(call(() => this.#n().stats()))
  }

  /**
   * This node's metrics under memberlist's names (the README's table), read
   * now: counters and gauges with `value`; the timings, histograms in ms,
   * with cumulative `buckets` ([upper bound, count], the last bound
   * Infinity), `sum` and `count`. `registerMetrics` serves them to
   * prom-client.
   */
  metrics() {
    return call(() => this.#n().metrics()).map(metricSample)
  }

  /** Install, use and remove encryption keys at run time. */
  get keyring() {
    return {
      install: (key) => call(() => this.#n().installKey(toBuffer(key, 'key'))),
      use: (key) => call(() => this.#n().useKey(toBuffer(key, 'key'))),
      remove: (key) => call(() => this.#n().removeKey(toBuffer(key, 'key'))),
    }
  }

  /** The replicated key-value map as this node holds it. */
  get state() {
    const n = () => this.#n()
    const entry = (e) => Object.freeze({ ...e, timestamp: BigInt(e.timestamp) })
    const put = (key, value, kind, ttlMs) => {
      if (typeof key !== 'string') throw typeError('key must be a string', 'key')
      return BigInt(call(() => n().statePut(key, toBuffer(value, 'value'), kind, ttlMs)))
    }
    return {
      put: async (key, value) => put(key, value, 'untilDeleted'),
      putEphemeral: async (key, value) => put(key, value, 'ephemeral'),
      putWithTtl: async (key, value, ttlMs) => {
        if (typeof ttlMs !== 'number') throw typeError('ttlMs must be a number', 'ttl')
        return put(key, value, 'ttl', ttlMs)
      },
      delete: async (key) => {
        const t = call(() => n().stateDelete(String(key)))
        return t === null || t === undefined ? null : BigInt(t)
      },
      get: (key) => {
        const e = call(() => n().stateGet(String(key)))
        return e ? entry(e) : null
      },
      entries: (prefix = '') => call(() => n().stateEntries(String(prefix))).map(entry),
      summary: () => Object.freeze({ ...call(() => n().stateSummary()) }),
      watch: (prefix = '') => this.#subscribe((e) => e.type === 'stateChanged' && e.key.startsWith(prefix)),
    }
  }

  /** `for await (const event of node.events())`: every event from now on. */
  events() {
    return this.#subscribe(() => true)
  }

  #subscribe(filter) {
    const sub = new Subscription(filter, (s) => this.#subs.delete(s))
    if (this.#closed) sub.end()
    else this.#subs.add(sub)
    return sub
  }
}

// ---- metrics: prom-client collectors (issue 19) ----
//
// Each metric of the catalogue becomes one custom collector in the user's
// prom-client Registry and reads the nodes' samples when the registry is
// scraped. prom-client is an optional peer dependency: nothing here
// requires it (the user hands over the registry), so `require('rumour')`
// works without it. (Here rather than in a file of its own because the
// release packs a fixed list of files: dist/node-packages.sh.)

/** A native sample as `node.metrics()` returns it: plain, frozen, one shape per kind. */
function metricSample(s) {
  const out = { name: s.name, kind: s.kind, unit: s.unit, help: s.help, labels: Object.freeze({ ...s.labels }) }
  if (s.kind === 'histogram') {
    out.buckets = Object.freeze(s.buckets.map(([le, n]) => Object.freeze([le, n])))
    out.sum = s.sum
    out.count = s.count
  } else {
    out.value = s.value
  }
  return Object.freeze(out)
}

/** What `value` is, for an error message. */
function describe(value) {
  if (value === null) return 'null'
  if (typeof value !== 'object') return typeof value
  return `an object (${value.constructor?.name || 'Object'})`
}

/**
 * The methods of prom-client's Registry we use. Its `metrics()` awaits each
 * metric's `get()` since prom-client 13, the peer range's floor.
 */
const REGISTRY_METHODS = ['registerMetric', 'getSingleMetric', 'removeSingleMetric']

/** Throws a TypeError naming `field` unless `node` is a Node. */
function checkNode(node, field) {
  if (!(node instanceof Node)) {
    throw typeError(`${field} must be a rumour Node (from Node.start), not ${describe(node)}`, field)
  }
}

/**
 * One metric family as prom-client's Registry wants a metric: `name`,
 * `help`, `type`, `aggregator`, an async `get()` and a `reset()`.
 */
class MetricFamily {
  #dotted
  #scrape

  constructor(info, scrape) {
    /** The exposition name; prom-client strips `_total` from it for OpenMetrics and adds it back per line. */
    this.name = info.prometheusName
    // As rumour::metrics::prometheus_text writes it.
    this.help = `${info.help.replace(/\.+$/, '')} (${info.unit}).`
    this.type = info.kind
    // Each node has its own `node` label, so summing across cluster
    // workers (prom-client's AggregatorRegistry) never merges two nodes.
    this.aggregator = 'sum'
    this.#dotted = info.name
    this.#scrape = scrape
  }

  async get() {
    const values = []
    for (const { node, byName } of this.#scrape()) {
      for (const s of byName.get(this.#dotted) ?? []) {
        const labels = { node, ...s.labels }
        if (s.kind !== 'histogram') {
          // No metricName: prom-client then writes `name`, which is what
          // lets it add `_total` itself in OpenMetrics mode.
          values.push({ value: s.value, labels })
          continue
        }
        for (const [le, n] of s.buckets) {
          values.push({
            value: n,
            labels: { ...labels, le: le === Infinity ? '+Inf' : String(le) },
            metricName: `${this.name}_bucket`,
          })
        }
        values.push({ value: s.sum, labels, metricName: `${this.name}_sum` })
        values.push({ value: s.count, labels, metricName: `${this.name}_count` })
      }
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  /** `registry.resetMetrics()` calls it; the counters are the nodes' own, so there is nothing to reset. */
  reset() {}
}

/** What `registerMetrics` returns: the nodes it reports, and the way out. */
class MetricsHandle {
  #registry
  #nodes = new Set()
  #families = []
  /** The samples of the scrape under way: one read per node serves every family. */
  #taken = null

  constructor(registry, nodes) {
    this.#registry = registry
    for (const node of nodes) this.#nodes.add(node)
    const scrape = () => this.#scrape()
    // Keep each key: prom-client renames a counter (drops `_total`) when
    // it writes OpenMetrics, but files it under the name it was given.
    const families = native
      .metricsCatalogue()
      .map((info) => ({ key: info.prometheusName, family: new MetricFamily(info, scrape) }))
    // Check every name first, so a clash registers nothing.
    for (const { key } of families) {
      if (registry.getSingleMetric(key) !== undefined) {
        throw new RumourError(
          `the registry already has a metric named ${key}: call registerMetrics once per registry ` +
            'and add() further nodes to the handle it returns',
          'registry',
        )
      }
    }
    for (const { family } of families) registry.registerMetric(family)
    this.#families = families
  }

  /** Reports `node` too, from the next scrape on. Adding a node twice changes nothing. */
  add(node) {
    checkNode(node, 'node')
    this.#nodes.add(node)
  }

  /** Stops reporting `node`; false when it was not reported. */
  remove(node) {
    return this.#nodes.delete(node)
  }

  /** Takes rumour's metrics out of the registry (those it registered, nothing else); safe to call twice. */
  unregister() {
    for (const { key, family } of this.#families) {
      if (this.#registry.getSingleMetric(key) === family) this.#registry.removeSingleMetric(key)
    }
    this.#families = []
    this.#nodes.clear()
  }

  /**
   * Every reported node's samples, grouped by dotted name. Read once per
   * scrape: prom-client calls every family's get() in one synchronous
   * pass, so the snapshot lasts until that pass ends (a microtask; not
   * setImmediate, which an I/O callback such as a close resolving can
   * overtake), and one scrape's families agree with each other. A closed
   * node is dropped here, without an error.
   */
  #scrape() {
    if (this.#taken) return this.#taken
    const taken = []
    for (const node of this.#nodes) {
      let samples
      try {
        samples = node.closed ? null : node.metrics()
      } catch (err) {
        if (!(err instanceof ClosedError)) throw err
        samples = null
      }
      if (samples === null) {
        this.#nodes.delete(node)
        continue
      }
      const byName = new Map()
      for (const s of samples) {
        const list = byName.get(s.name)
        if (list) list.push(s)
        else byName.set(s.name, [s])
      }
      taken.push({ node: node.name, byName })
    }
    this.#taken = taken
    queueMicrotask(() => {
      this.#taken = null
    })
    return taken
  }
}

/**
 * Registers every metric of rumour's catalogue in a prom-client
 * `Registry` as custom collectors reporting `nodes` (more with `add`).
 * Throws a TypeError naming `registry` or `nodes[i]` for a bad argument,
 * and a RumourError when the registry already has one of the names.
 */
function registerMetrics(registry, ...nodes) {
  const ok =
    registry !== null &&
    typeof registry === 'object' &&
    REGISTRY_METHODS.every((m) => typeof registry[m] === 'function')
  if (!ok) {
    const text = `registry must be a prom-client Registry (new Registry() or register), not ${describe(registry)}`
    throw typeError(text, 'registry')
  }
  nodes.forEach((node, i) => checkNode(node, `nodes[${i}]`))
  return new MetricsHandle(registry, nodes)
}

module.exports = {
  /** The workspace's one version (package.json's, the crates', the wheel's, librumour's). */
  version: require('./package.json').version,
  Config,
  Node,
  registerMetrics,
  EVENT_KINDS,
  RumourError,
  StartError,
  JoinError,
  JoinTimeoutError,
  NodeError,
  ClosedError,
  TooLargeError,
  UnknownMemberError,
  LeftError,
  KeyringError,
  LeaveTimeoutError,
  StateError,
}
