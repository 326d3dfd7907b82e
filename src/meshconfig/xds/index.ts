export * from './protocol.js';
export { LineDecoder, onFrames, writeFrame, writeRaw, FrameTooLarge, DEFAULT_MAX_FRAME_BYTES } from './codec.js';
export { XdsClient, type XdsClientOptions, type XdsTarget } from './client.js';
