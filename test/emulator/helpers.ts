/** Shared set-up for emulator tests: the real SDK client over loopback. */
import { IdentitystoreClient } from '@aws-sdk/client-identitystore';
import { type EmulatorOptions, type RunningEmulator, startEmulator } from '../../local/emulator';

export const STORE_ID = 'd-1234567890';

export function clientFor(emulator: RunningEmulator, maxAttempts = 1): IdentitystoreClient {
  return new IdentitystoreClient({
    endpoint: emulator.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts,
  });
}

/** Quota off unless a test asks for it: most tests are not about throttling. */
export const startQuiet = (options: EmulatorOptions = {}) => startEmulator({ tps: 0, ...options });

/** The rejection of a promise that must fail. */
export async function failureOf(promise: Promise<unknown>): Promise<Error & Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  }
  throw new Error('expected the call to fail, but it succeeded');
}

export const validUser = (userName: string) => ({
  IdentityStoreId: STORE_ID,
  UserName: userName,
  DisplayName: `${userName} Display`,
  Name: { GivenName: 'Given', FamilyName: 'Family' },
});
