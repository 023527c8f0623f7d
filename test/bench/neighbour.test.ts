import { startEmulator } from '../../local/emulator';
import { NEIGHBOUR_ACTION, startNeighbour } from '../../local/pipeline/neighbour';

const IDENTITY_STORE_ID = 'd-1234567890';

describe('the simulated neighbour', () => {
  it("counts its own calls and throttled answers, as the emulator counts them, once finished", async () => {
    // One token, refilled every 10 s: every call after the first is throttled.
    const emulator = await startEmulator({ identityStoreIds: [IDENTITY_STORE_ID], tps: 0.1 });
    const neighbour = startNeighbour({ endpoint: emulator.endpoint, identityStoreId: IDENTITY_STORE_ID, tps: 50 });
    try {
      while (neighbour.calls < 4) await new Promise((resolve) => setTimeout(resolve, 10));
      await neighbour.finish();
      const stats = emulator.stats();
      const sent = neighbour.calls;
      expect(stats.callsByAction).toEqual({ [NEIGHBOUR_ACTION]: sent });
      expect(neighbour.throttled).toBe(stats.throttled.quota);
      expect(neighbour.throttled).toBeGreaterThanOrEqual(sent - 1);
      // Finished: no more calls.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(neighbour.calls).toBe(sent);
    } finally {
      neighbour.stop();
      await emulator.stop();
    }
  });
});
