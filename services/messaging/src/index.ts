export { type BuildMessagingCellOptions, buildMessagingCell } from './app';
export { decodeCursor, encodeCursor } from './cursor';
export { messagingErrors } from './errors';
