export type { CreateAppOptions } from './app';
export { createApp } from './app';
export type { Platform, PlatformOptions } from './platform';
export { createPlatform } from './platform';
export { buildOpenApiDocument } from './rest/openapi';
export type { RunningServer } from './server';
export { listen } from './server';
