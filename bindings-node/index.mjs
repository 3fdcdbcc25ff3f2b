// ESM entry: the same exports as index.js.
import rumour from './index.js'

export const {
  version,
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
} = rumour
export default rumour
