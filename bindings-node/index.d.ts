// Types of the `rumour` package (the layer in index.js over the generated
// native.d.ts). Checked with `tsc --noEmit` (npm run typecheck).

/// <reference types="node" />
import { EventEmitter } from 'node:events'

/** The workspace's one version: package.json's, the crates', the wheel's, librumour's. */
export declare const version: string

/** Node configuration; durations in milliseconds. Presets equal memberlist's. */
export interface Config {
  /** Unique node name; empty for the host name plus a short random suffix. */
  readonly name: string
  /** Address to bind, "host:port"; port 0 picks a free port. */
  readonly bind: string
  /** Address to tell peers when it differs from the bound one (NAT, containers). */
  readonly advertise?: string | null
  /**
   * Peers to join, "host:port" (host names allowed, every address tried).
   * Not used once: the node keeps trying them until one answers, so nodes
   * start in any order, and later push-pulls with any that is missing.
   */
  readonly seeds: readonly string[]
  /**
   * Wait after the first failed join attempt, in ms; doubles per failure up
   * to `retryJoinMaxInterval`, jittered. Seeds are pinged four times per
   * interval meanwhile, and an answer brings the next attempt forward. LAN 1000.
   */
  readonly retryJoinInterval: number
  /** The longest wait between join attempts, in ms. LAN 30000. */
  readonly retryJoinMaxInterval: number
  /** Attempts before `joined()` rejects with JoinError; 0 (the default) tries forever. */
  readonly retryJoinMaxAttempts: number
  /** Push-pull every `pushPullInterval` with a seed missing from the live members. Default true. */
  readonly gossipToSeeds: boolean
  /**
   * A file where the node keeps the members it knows and its incarnation,
   * read back at start (a restarted cluster re-forms with no seed up); a
   * bad file is logged and ignored. Default none.
   */
  readonly peersFile?: string | null
  /** Encryption keys (16, 24 or 32 bytes); the first encrypts. */
  readonly keys: readonly Buffer[]
  /** Cluster label; peers with another label are ignored. */
  readonly label: string
  /** Node metadata, at most 512 bytes. */
  readonly meta: Buffer
  readonly protocolVersion: number
  readonly tcpTimeout: number
  /**
   * How long a peer's connection may stay silent before its first bytes, in
   * ms; then it is closed and counted (`streamsSilent`); the shorter of
   * this and `tcpTimeout` applies. LAN 1000, WAN 3000.
   */
  readonly tcpFirstByteTimeout: number
  /**
   * Peers' connections held at once. When full, a newcomer replaces the one
   * silent longest (`streamsEvicted`); refused only if every one is busy. 256.
   */
  readonly tcpMaxIncoming: number
  /**
   * Connections held from one address that is not a known member's; beyond
   * it, a newcomer from that address replaces the address's own quietest. 32.
   */
  readonly tcpMaxIncomingPerSource: number
  /** Of `tcpMaxIncoming`, the places only known members' addresses may take. 64. */
  readonly tcpReservedForMembers: number
  readonly indirectChecks: number
  readonly retransmitMult: number
  readonly suspicionMult: number
  readonly suspicionMaxTimeoutMult: number
  readonly pushPullInterval: number
  readonly probeInterval: number
  readonly probeTimeout: number
  readonly disableTcpPings: boolean
  readonly awarenessMaxMultiplier: number
  readonly gossipNodes: number
  readonly gossipInterval: number
  readonly gossipToTheDeadTime: number
  readonly gossipVerifyIncoming: boolean
  readonly gossipVerifyOutgoing: boolean
  readonly enableCompression: boolean
  readonly deadNodeReclaimTime: number
  readonly udpBufferSize: number
  readonly broadcastQueueDepth: number
  /** Send user messages as memberlist does, without rumour's envelope. */
  readonly rawUserMessages: boolean
  readonly stateMaxValueBytes: number
  readonly stateMaxEntries: number
  readonly stateMaxBytes: number
  /** How long the replicated map keeps a tombstone, in milliseconds. */
  readonly stateTombstoneGrace: number
}

/** Overrides of a preset: any field; bytes may be given as strings or Uint8Arrays. */
export type ConfigOverrides = Partial<Omit<Config, 'meta' | 'keys' | 'seeds'>> & {
  meta?: Buffer | Uint8Array | string
  keys?: ReadonlyArray<Buffer | Uint8Array | string>
  seeds?: readonly string[]
}

/** Presets; a bad field throws a TypeError or RangeError whose `field` names it. */
export declare const Config: {
  lan(overrides?: ConfigOverrides): Config
  wan(overrides?: ConfigOverrides): Config
  local(overrides?: ConfigOverrides): Config
}

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left'

export interface Member {
  readonly name: string
  /** "host:port", accepted by `join`. */
  readonly addr: string
  readonly state: MemberState
  readonly incarnation: number
  readonly meta: Buffer
}

export interface MemberEvent<T extends string> {
  readonly type: T
  readonly member: Member
}
export type MemberJoined = MemberEvent<'memberJoined'>
export type MemberUpdated = MemberEvent<'memberUpdated'>
export type MemberSuspect = MemberEvent<'memberSuspect'>
export type MemberRecovered = MemberEvent<'memberRecovered'>
export type MemberFailed = MemberEvent<'memberFailed'>
export type MemberLeft = MemberEvent<'memberLeft'>

export interface Message {
  readonly type: 'message'
  /** The sender; null for a Go memberlist peer's message. */
  readonly from: string | null
  readonly kind: 'broadcast' | 'direct' | 'plain'
  readonly data: Buffer
}

export interface StateChanged {
  readonly type: 'stateChanged'
  readonly key: string
  /** null when the key was deleted. */
  readonly value: Buffer | null
  readonly writer: string
  readonly timestamp: bigint
}

export interface RemoteState {
  readonly type: 'remoteState'
  readonly data: Buffer
}

export interface EventsLost {
  readonly type: 'eventsLost'
  readonly count: number
}

/** This node joined a cluster: `via` answered a join or joined this node. Once per start. */
export interface Joined {
  readonly type: 'joined'
  /** The peer's "host:port". */
  readonly via: string
}

/**
 * This node stopped trying its seeds after `retryJoinMaxAttempts` failed
 * attempts; `failures` are the last attempt's. It still gossips to the
 * seeds and answers peers, so a `joined` event may follow. `joined()`
 * rejects with a JoinError carrying the same.
 */
export interface JoinGaveUp {
  readonly type: 'joinGaveUp'
  /** The attempts made. */
  readonly attempts: number
  /** The last attempt's seeds and why each failed. */
  readonly failures: readonly SeedFailure[]
}

export type RumourEvent =
  | MemberJoined
  | MemberUpdated
  | MemberSuspect
  | MemberRecovered
  | MemberFailed
  | MemberLeft
  | Message
  | StateChanged
  | RemoteState
  | EventsLost
  | Joined
  | JoinGaveUp

export type EventType = RumourEvent['type']

export declare const EVENT_KINDS: readonly EventType[]

/** The events of one subscription; ends when the node closes. */
export interface Subscription<E> extends AsyncIterableIterator<E> {
  /** Stops the subscription. */
  return(): Promise<IteratorResult<E, undefined>>
}

export interface StateEntry {
  readonly key: string
  readonly value: Buffer
  readonly writer: string
  readonly timestamp: bigint
  readonly ephemeral: boolean
  readonly expiresUnixMs?: number | null
}

export interface StateSummary {
  readonly live: number
  readonly tombstones: number
  readonly bytes: number
  /** Merkle root (hex): equal roots, equal maps. */
  readonly root: string
  readonly horizon: string
}

export type Bytes = Buffer | Uint8Array | string

/** The cluster-wide key-value map as this node holds it. */
export interface State {
  put(key: string, value: Bytes): Promise<bigint>
  putEphemeral(key: string, value: Bytes): Promise<bigint>
  putWithTtl(key: string, value: Bytes, ttlMs: number): Promise<bigint>
  delete(key: string): Promise<bigint | null>
  get(key: string): StateEntry | null
  entries(prefix?: string): StateEntry[]
  summary(): StateSummary
  /**
   * Changes to keys under `prefix` from now on (`for await`); each call is
   * its own subscription. As with `Node.events()`, changes produced just
   * before the call and not yet handed out may come too.
   */
  watch(prefix?: string): Subscription<StateChanged | EventsLost>
}

export interface Keyring {
  install(key: Bytes): void
  use(key: Bytes): void
  remove(key: Bytes): void
}

export interface NodeEvents {
  memberJoined: [MemberJoined]
  memberUpdated: [MemberUpdated]
  memberSuspect: [MemberSuspect]
  memberRecovered: [MemberRecovered]
  memberFailed: [MemberFailed]
  memberLeft: [MemberLeft]
  message: [Message]
  stateChanged: [StateChanged]
  remoteState: [RemoteState]
  eventsLost: [EventsLost]
  joined: [Joined]
  joinGaveUp: [JoinGaveUp]
  /** A listener threw; without an 'error' listener it is rethrown as uncaught. */
  error: [unknown]
}

/** `node.stats()`: counters since start, and `members`, the count of live members now. */
export interface Stats extends Readonly<Record<string, number>> {
  readonly members: number
  readonly packetsSent: number
  readonly bytesSent: number
  readonly packetsReceived: number
  readonly bytesReceived: number
  readonly decodeErrors: number
  readonly probes: number
  readonly probesFailed: number
  readonly refutes: number
  /** Times this node spread its alive again for a member that missed its refutation. */
  readonly reasserts: number
  /** Accusations of this node answered with its alive sent straight back to the accuser. */
  readonly accusersAnswered: number
  readonly stateSyncBytes: number
  readonly stateRepaired: number
  readonly stateRejected: number
  readonly eventsLost: number
  readonly callbackPanics: number
  readonly streamsRefused: number
  /** Peers' connections closed to make room for a newcomer (a flood of idle connections shows here). */
  readonly streamsEvicted: number
  /** Peers' connections that sent nothing within `tcpFirstByteTimeout`. */
  readonly streamsSilent: number
  readonly streamsTimedOut: number
  readonly streamsOversized: number
  readonly streamsRejected: number
  readonly streamsFailed: number
  readonly udpSendErrors: number
  /** Attempts to join the configured seeds (and remembered peers). */
  readonly joinAttempts: number
  /** Push-pulls with a seed that was not among the live members (`gossipToSeeds`). */
  readonly seedPushPulls: number
  /** Joins back to an unknown peer that reached this node while it was alone. */
  readonly hailsAnswered: number
  /** Push-pulls with a random member after a burst of joins (a merge, a mass start). */
  readonly catchUpPulls: number
  /** Peer file reads or writes that failed (each logged; see `peersFile`). */
  readonly peersFileErrors: number
}

/** What a metric is, in Prometheus' terms. */
export type MetricKind = 'counter' | 'gauge' | 'histogram'

/** What every sample of `node.metrics()` has. */
export interface MetricSampleBase {
  /** The dotted name, memberlist's where it has one (`memberlist.msg.alive`). */
  readonly name: string
  readonly kind: MetricKind
  /** What one unit is (`bytes`, `ms`, `messages`, ...). */
  readonly unit: string
  /** What it counts, in a sentence. */
  readonly help: string
  /** Labels beyond `node` (`node_state` for `memberlist.node.instances`). */
  readonly labels: Readonly<Record<string, string>>
}

/** A counter's total (since the node started) or a gauge's level. */
export interface ValueSample extends MetricSampleBase {
  readonly kind: 'counter' | 'gauge'
  readonly value: number
}

/** A timing histogram, in milliseconds. */
export interface HistogramSample extends MetricSampleBase {
  readonly kind: 'histogram'
  /**
   * `[upper bound in ms, observations at or below it]`, cumulative as in
   * Prometheus; the last bound is `Infinity` and its count is `count`.
   */
  readonly buckets: ReadonlyArray<readonly [number, number]>
  /** Sum of the observations, in milliseconds. */
  readonly sum: number
  /** How many observations. */
  readonly count: number
}

/** One sample of `node.metrics()`; `kind` tells which fields it has. */
export type MetricSample = ValueSample | HistogramSample

/**
 * What `registerMetrics` needs of a prom-client `Registry` (any version
 * from 13; `new Registry()` or prom-client's global `register`). Stated
 * here so that rumour's types do not require prom-client.
 */
export interface MetricsRegistry {
  // `never`: prom-client's generic `registerMetric<T>(metric: Metric<T>)` fits.
  registerMetric(metric: never): void
  getSingleMetric(name: string): unknown
  removeSingleMetric(name: string): void
}

/** What `registerMetrics` returns. */
export interface MetricsHandle {
  /** Reports `node` too, from the next scrape on; adding it twice changes nothing. TypeError if not a Node. */
  add(node: Node): void
  /** Stops reporting `node`; false when it was not reported. */
  remove(node: Node): boolean
  /** Takes rumour's metrics out of the registry (only those it registered); safe to call twice. */
  unregister(): void
}

/**
 * Registers every metric of rumour's catalogue in a prom-client registry,
 * as custom collectors that read `nodes` (see `Node.metrics`) each time the
 * registry is scraped. Exposition names are the Rust `prometheus_text`'s:
 * dots become underscores, counters end in `_total`; each sample is
 * labelled `node` with the node's name. A node that has closed is skipped
 * (and forgotten) at the next scrape, without an error.
 *
 * Throws a TypeError naming `registry` or `nodes[i]` for a bad argument,
 * and a RumourError when the registry already holds one of the names
 * (register once per registry, then `add` nodes to the handle).
 *
 * ```js
 * const { Registry } = require('prom-client')
 * const registry = new Registry()
 * const metrics = registerMetrics(registry, node)
 * const text = await registry.metrics()
 * ```
 */
export declare function registerMetrics(registry: MetricsRegistry, ...nodes: Node[]): MetricsHandle

/** A cluster member. */
export declare class Node extends EventEmitter<NodeEvents> {
  private constructor()
  /**
   * Binds the sockets and starts the node; it joins `config.seeds` in the
   * background, trying until one answers, so it never fails because a
   * seed is down.
   */
  static start(config?: Config): Promise<Node>
  readonly name: string
  readonly addr: string
  readonly boundAddr: string
  readonly closed: boolean
  readonly local: Member
  readonly keyring: Keyring
  readonly state: State
  join(seeds: string | readonly string[], options?: { signal?: AbortSignal }): Promise<number>
  /**
   * Resolves with the peer's "host:port" once this node has joined (at once
   * if it has). Rejects with JoinTimeoutError after `timeout` ms (none or
   * Infinity: no limit; the node keeps trying), JoinError with `attempts`
   * and `failures` when it gave up, ClosedError when closed first, and
   * `signal.reason` when aborted. Waits on the event loop: close() ends it.
   */
  joined(options?: { timeout?: number; signal?: AbortSignal }): Promise<string>
  leave(options?: { timeoutMs?: number }): Promise<void>
  /**
   * Stops the node after delivering the events already produced. Without
   * `leave()` first, the others see it fail and rumours still queued for
   * gossip are not sent.
   */
  close(): Promise<void>
  /** `await using`: leaves (errors from leaving ignored), then closes. */
  [Symbol.asyncDispose](): Promise<void>
  /**
   * A short hash (16 hex digits) of how this node sees the cluster: the
   * members alive or suspect with their states and incarnations, and the
   * replicated map's root. Every node of a converged cluster reports the
   * same one; a deploy script polls it on each node until they agree.
   */
  digest(): string
  members(): Member[]
  member(name: string): Member | null
  broadcast(data: Bytes): Promise<void>
  send(to: string | Member, data: Bytes, options?: { reliable?: boolean }): Promise<void>
  setMeta(meta: Bytes): Promise<void>
  setLocalState(data: Bytes): Promise<void>
  /** Counters of the protocol and the runtime, read now. */
  stats(): Stats
  /**
   * This node's metrics under memberlist's names (the README's table), read
   * now; `registerMetrics` serves them to prom-client. ClosedError once
   * the node is closed.
   */
  metrics(): MetricSample[]
  /**
   * Every event from now on (`for await`); each call is its own
   * subscription. "Now" is the dispatch thread's place in the node's event
   * queue: events produced just before the call and not yet handed out
   * come too, so subscribe before the action whose events you need. An
   * unread subscription holds 4,096 events, then reports what it drops as
   * one `eventsLost` ahead of the next event that fits.
   */
  events(): Subscription<RumourEvent>
}

/** The `code` of each rumour error class, one per class. */
export type RumourErrorCode =
  | 'RUMOUR_ERROR'
  | 'RUMOUR_START'
  | 'RUMOUR_JOIN'
  | 'RUMOUR_JOIN_TIMEOUT'
  | 'RUMOUR_NODE'
  | 'RUMOUR_CLOSED'
  | 'RUMOUR_TOO_LARGE'
  | 'RUMOUR_UNKNOWN_MEMBER'
  | 'RUMOUR_LEFT'
  | 'RUMOUR_KEYRING'
  | 'RUMOUR_LEAVE_TIMEOUT'
  | 'RUMOUR_STATE'

/**
 * The `code` of a bad argument's error: a TypeError (wrong type, unknown
 * field) is 'RUMOUR_INVALID_ARG', a RangeError (a number out of its range)
 * 'RUMOUR_OUT_OF_RANGE'; `field` names the argument or config field.
 */
export type ArgumentErrorCode = 'RUMOUR_INVALID_ARG' | 'RUMOUR_OUT_OF_RANGE'

/**
 * Base of every rumour error. Bad arguments are not rumour errors but
 * TypeError or RangeError, with `field` and a `code` ({@link ArgumentErrorCode}).
 */
export declare class RumourError extends Error {
  /** The class as a stable string, for code that tests `err.code` rather than `instanceof`. */
  static readonly code: RumourErrorCode
  /** This error's class as a stable string (`ClosedError`: `'RUMOUR_CLOSED'`). */
  readonly code: RumourErrorCode
  /** The argument or config field at fault, when one is. */
  field?: string
}
/** The node could not start (its sockets or its runtime); a bad config field is a RangeError or TypeError. */
export declare class StartError extends RumourError {}
/** One seed address that did not answer, and why. */
export interface SeedFailure {
  /** The seed as given (or a remembered peer's address). */
  readonly seed: string
  /** Why: resolution, connection, timeout or the peer's refusal. */
  readonly reason: string
}
/**
 * Joining failed: `join(seeds)` found no seed answering (the message lists
 * each with its reason), or `joined()` saw the node give up after
 * `retryJoinMaxAttempts` (then `attempts` and `failures` are set; gossip
 * to the seeds goes on, so the node may still join later).
 */
export declare class JoinError extends RumourError {
  /** For a node that gave up: the attempts it made. */
  readonly attempts?: number
  /** For a node that gave up: why each address of its last attempt failed. */
  readonly failures?: readonly SeedFailure[]
}
/** `joined()` waited its whole timeout; the node keeps trying its seeds. */
export declare class JoinTimeoutError extends JoinError {}
/** A call on a running node failed; the subclasses say why. */
export declare class NodeError extends RumourError {}
/** The node is closed (or closed while the call waited). */
export declare class ClosedError extends NodeError {}
/** Metadata, a broadcast or message, or local state over its limit; `field` is `meta` or `data`. */
export declare class TooLargeError extends NodeError {}
/** `send()` to a name that is unknown, dead or left; `field` is `to`. */
export declare class UnknownMemberError extends NodeError {}
/** The node has left the cluster, so it no longer sends, broadcasts or writes. */
export declare class LeftError extends NodeError {}
/** A keyring change refused: a key not 16, 24 or 32 bytes, one not installed, the primary's removal, or encryption off. */
export declare class KeyringError extends NodeError {}
/** `leave()` was not confirmed within its timeout; the node has left anyway. */
export declare class LeaveTimeoutError extends NodeError {}
/** A replicated-map write refused; `field` is `key`, `value`, `ttl` or `state` (the map's limits). */
export declare class StateError extends NodeError {}
