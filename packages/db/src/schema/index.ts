export * from './tenancy';
export * from './users';
export * from './events';
export * from './webhooks';
