/** Public API: the constructs another CDK app can instantiate, and this app's stacks. */
export * from './config';
export * from './identity-provisioner-state';
export * from './identity-provisioner';
export * from './provisioner-function';
export * from './provisioner-alarms';
export * from './drift-detector';
export * from './audit-digests';
export * from './stacks';
export * from './compliance';
