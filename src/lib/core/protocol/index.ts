/**
 * The sync wire protocol shared by the relay and the devices: limits, schemas of the signed
 * objects and of every frame, and the frame parsers. Contract: docs/SYNC.md.
 */
export * from './limits';
export * from './schemas';
export * from './frames';
