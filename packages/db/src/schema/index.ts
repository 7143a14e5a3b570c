export * from './events';
export * from './portal';
export * from './tenancy';
export * from './users';
export * from './webhooks';
