export * from './events';
export * from './tenancy';
export * from './users';
export * from './webhooks';
