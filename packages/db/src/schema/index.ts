export * from './events';
export * from './portal';
export * from './queue';
export * from './tenancy';
export * from './users';
export * from './webhooks';
