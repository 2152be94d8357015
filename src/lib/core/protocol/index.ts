/**
 * The sync wire protocol shared by the relay and the devices: limits, schemas of the signed
 * objects and of every frame, and the frame parsers. Contract: docs/SYNC.md. Also the
 * schemas of the relay's SMART Health Links HTTP API (shl.ts, docs/SHARING.md) and of its
 * blob endpoints (blobs.ts, docs/ATTACHMENTS.md).
 */
export * from './limits';
export * from './schemas';
export * from './frames';
export * from './shl';
export * from './blobs';
