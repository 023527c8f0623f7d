export { startLocalSqs, type LocalSqs, type LocalSqsOptions, type ServiceSender } from './server';
export type { QueueSnapshot, MessageState, SendInput, SendResult, RedrivePolicy } from './broker';
export { SqsError } from './errors';
export type { StoredAttributeValue } from './md5';
export type { MoveTask, MoveTaskStatus } from './move-tasks';
