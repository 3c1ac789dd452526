export * from './embedded.ts';
export * from './processes.ts';
export * from './secrets.ts';
export * from './services.ts';
