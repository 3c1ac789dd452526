export * from './infra.ts';
export * from './issuer.ts';
