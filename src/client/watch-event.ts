// Watch events and connection states as the client API names them, converted from wire codes.

import { EventType, KeeperState } from '../jute/index.js';

export type WatchEventType =
  | 'None'
  | 'NodeCreated'
  | 'NodeDeleted'
  | 'NodeDataChanged'
  | 'NodeChildrenChanged'
  | 'DataWatchRemoved'
  | 'ChildWatchRemoved'
  | 'PersistentWatchRemoved';

/** Connection states emitted on 'state' and carried by watch events ('connecting' only before the first handshake). */
export type ClientState = 'connecting' | 'connected' | 'connectedReadOnly' | 'disconnected' | 'expired' | 'authFailed' | 'closed';

export interface WatchEvent {
  type: WatchEventType;
  state: ClientState;
  /** Client-side path (chroot stripped); null for connection-state events (type 'None'). */
  path: string | null;
}

export type WatchListener = (event: WatchEvent) => void;

const typeNames = new Map<number, WatchEventType>([
  [EventType.None, 'None'],
  [EventType.NodeCreated, 'NodeCreated'],
  [EventType.NodeDeleted, 'NodeDeleted'],
  [EventType.NodeDataChanged, 'NodeDataChanged'],
  [EventType.NodeChildrenChanged, 'NodeChildrenChanged'],
  [EventType.DataWatchRemoved, 'DataWatchRemoved'],
  [EventType.ChildWatchRemoved, 'ChildWatchRemoved'],
  [EventType.PersistentWatchRemoved, 'PersistentWatchRemoved'],
]);

export function eventTypeName(code: number): WatchEventType | undefined {
  return typeNames.get(code);
}

export function stateFromKeeperState(code: number): ClientState {
  switch (code) {
    case KeeperState.SyncConnected:
      return 'connected';
    case KeeperState.ConnectedReadOnly:
      return 'connectedReadOnly';
    case KeeperState.Expired:
      return 'expired';
    case KeeperState.AuthFailed:
      return 'authFailed';
    case KeeperState.Closed:
      return 'closed';
    default:
      return 'disconnected';
  }
}
