export { createApp } from './app';
export type { CreateAppOptions } from './app';
export { createPlatform } from './platform';
export type { Platform, PlatformOptions } from './platform';
export { buildOpenApiDocument } from './rest/openapi';
export { listen } from './server';
export type { RunningServer } from './server';
