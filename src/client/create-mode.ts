// CreateMode names, their wire flags, and which create opcode each one needs.

import { badArguments } from './client-errors.js';
import { CreateFlag, OpCode } from '../jute/index.js';

export const CreateMode = {
  PERSISTENT: 'persistent',
  EPHEMERAL: 'ephemeral',
  PERSISTENT_SEQUENTIAL: 'persistent_sequential',
  EPHEMERAL_SEQUENTIAL: 'ephemeral_sequential',
  CONTAINER: 'container',
  PERSISTENT_WITH_TTL: 'persistent_with_ttl',
  PERSISTENT_SEQUENTIAL_WITH_TTL: 'persistent_sequential_with_ttl',
} as const;
export type CreateMode = (typeof CreateMode)[keyof typeof CreateMode];

const flags: Record<CreateMode, number> = {
  persistent: CreateFlag.PERSISTENT,
  ephemeral: CreateFlag.EPHEMERAL,
  persistent_sequential: CreateFlag.PERSISTENT_SEQUENTIAL,
  ephemeral_sequential: CreateFlag.EPHEMERAL_SEQUENTIAL,
  container: CreateFlag.CONTAINER,
  persistent_with_ttl: CreateFlag.PERSISTENT_WITH_TTL,
  persistent_sequential_with_ttl: CreateFlag.PERSISTENT_SEQUENTIAL_WITH_TTL,
};

/** ZooKeeper's EphemeralType.MAX_EXTENDED... limit: TTLs are 40-bit milliseconds. */
const MAX_TTL_MS = 0xffffffffff;

export interface CreatePlan {
  flags: number;
  opCode: number;
  ttl: number;
  sequential: boolean;
}

/**
 * Chooses the opcode like ZooKeeper's client: TTL modes need createTTL, containers
 * createContainer, others create (or create2 when the caller wants the Stat).
 */
export function planCreate(path: string, mode: CreateMode, ttlMs: number | undefined, wantStat: boolean): CreatePlan {
  const f = flags[mode];
  if (f === undefined) throw badArguments(path, `unknown create mode ${String(mode)}`);
  const isTtl = mode === 'persistent_with_ttl' || mode === 'persistent_sequential_with_ttl';
  if (isTtl) {
    if (ttlMs === undefined || !Number.isInteger(ttlMs) || ttlMs <= 0 || ttlMs > MAX_TTL_MS) {
      throw badArguments(path, `ttl must be an integer in (0, ${MAX_TTL_MS}] for ${mode}`);
    }
  } else if (ttlMs !== undefined && ttlMs !== -1) {
    throw badArguments(path, `ttl given for non-TTL mode ${mode}`);
  }
  const opCode = isTtl ? OpCode.createTTL : mode === 'container' ? OpCode.createContainer : wantStat ? OpCode.create2 : OpCode.create;
  return { flags: f, opCode, ttl: isTtl ? ttlMs! : -1, sequential: mode.includes('sequential') };
}
