// The ZooKeeper wire codec: buffers, opcodes, error codes and records.
export * from './buffer-reader.js';
export * from './buffer-writer.js';
export * from './digest-id.js';
export * from './error-codes.js';
export * from './frame-decoder.js';
export * from './opcodes.js';
export * from './records.js';
