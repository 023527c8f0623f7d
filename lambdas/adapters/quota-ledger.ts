/**
 * The shared Identity Store budget's one DynamoDB item (state table, `QUOTA#identitystore`):
 * a cursor of virtual time from which every function instance takes its call slots, the pause a
 * throttle asked for, and the rate the budget has adapted to. One conditional UpdateItem per
 * claim of several slots; nothing here waits or decides, SharedQuota (shared-quota.ts) does.
 *
 * Why a cursor: slots handed out from one cursor at `slotMs` apart can never add up to more than
 * the rate, however many instances claim, and an instance that stops claiming leaves the whole
 * rate to the others at once (there is no per-instance share to wait out).
 */
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { QUOTA_LEDGER_KEY } from '../shared/tables';
import { asDocumentClient, isConditionalCheckFailed, type AnyDynamoDbClient } from './dynamodb-document-client';

/** What the item holds (numbers are epoch ms, counts or requests per second; 0 when never set). */
export interface LedgerState {
  /** The virtual time of the next free slot. */
  nextSlotMs: number;
  /** No call before this (the longest RetryAfterSeconds asked). */
  pausedUntilMs: number;
  /** Slots handed out, ever (a counter). */
  granted: number;
  /** Throttled calls reported, ever (a counter). */
  throttled: number;
  /** When the last throttle episode began; 0 when there has been none. */
  episodeAtMs: number;
  /** The rate chosen at that episode. */
  episodeRate: number;
  /**
   * Where the next episode measures from: the last episode (the service's bucket was empty) or,
   * when later, the cursor's last restart from idle (the bucket was full: `bankedAtMeasure` calls).
   * The counters and the slots handed out ahead of time are as they stood then.
   */
  measureFromMs: number;
  grantedAtMeasure: number;
  throttledAtMeasure: number;
  aheadAtMeasure: number;
  bankedAtMeasure: number;
  /** The last claim that found the cursor behind now (slots unused); 0 when never. */
  lastLagAtMs: number;
}

export interface ClaimRequest {
  slots: number;
  nowMs: number;
  /** Spacing of the slots at the rate in force. */
  slotMs: number;
  /**
   * How far behind now an idle cursor restarts: the calls the service's bucket has banked while
   * nobody called, usable at once.
   */
  burstMs: number;
}

export interface Claim {
  /** The first slot's time; the others follow at slotMs. */
  firstSlotMs: number;
  state: LedgerState;
}

export interface EpisodeRequest {
  nowMs: number;
  untilMs: number;
  /** The new rate, from the item as it stands (read consistently just before). */
  decideRate: (state: LedgerState) => { rate: number; aheadSlots: number };
}

/**
 * Throttles this soon after an episode began are its own: answers to calls already sent when it
 * began. A throttle later than that met the rate the episode set, and begins a new one.
 */
export const EPISODE_GRACE_MS = 1_000;

export function belongsToEpisode(state: LedgerState, nowMs: number): boolean {
  return state.episodeAtMs > 0 && nowMs < state.episodeAtMs + EPISODE_GRACE_MS;
}

export interface QuotaLedger {
  claim(request: ClaimRequest): Promise<Claim>;
  /** A throttle no instance has reported yet: pause everyone, and set the rate the episode decides. */
  startEpisode(request: EpisodeRequest): Promise<LedgerState>;
  /** Pause everyone until `untilMs` (never shortening a longer pause); count a throttle when it was one. */
  extendPause(request: { untilMs: number; throttle: boolean }): Promise<LedgerState>;
}


type CursorForm = 'busy' | 'lagging' | 'idle';
const NEXT_FORM: Record<CursorForm, CursorForm> = { busy: 'lagging', lagging: 'idle', idle: 'busy' };
/** Every form once, and once more after another instance's move. */
const MAX_CLAIM_ATTEMPTS = 5;
/** The cursor may be this far behind now with calls still waiting (a claim's own round trip). */
export const LAG_TOLERANCE_MS = 100;

export class DynamoDbQuotaLedger implements QuotaLedger {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  /** Which claim form to try first: the one that fitted last time. */
  private lastForm: CursorForm = 'idle';

  constructor(options: { client: AnyDynamoDbClient; tableName: string }) {
    this.client = asDocumentClient(options.client);
    this.tableName = options.tableName;
  }

  async claim({ slots, nowMs, slotMs, burstMs }: ClaimRequest): Promise<Claim> {
    const span = slots * slotMs;
    // burstMs / slotMs slots at most are due by now: the one at now is the last of them.
    const floor = nowMs - burstMs + slotMs;
    const lagLine = nowMs - LAG_TOLERANCE_MS;
    const add = 'SET nextSlotMs = nextSlotMs + :span ADD granted :slots';
    const forms: Record<CursorForm, () => Promise<Claim>> = {
      // Calls are waiting everywhere: take the next slots after everyone else's (an atomic add).
      busy: async () => {
        const state = await this.update(add, 'nextSlotMs >= :lagLine', { ':span': span, ':slots': slots, ':lagLine': lagLine });
        return { firstSlotMs: state.nextSlotMs - span, state };
      },
      // The cursor fell behind now: slots went unused (we had too little to send), which the
      // next episode must know before it reads our admitted calls as the service's limit.
      lagging: async () => {
        const state = await this.update('SET nextSlotMs = nextSlotMs + :span, lastLagAtMs = :now ADD granted :slots', 'nextSlotMs >= :floor AND nextSlotMs < :lagLine', {
          ':span': span,
          ':slots': slots,
          ':floor': floor,
          ':lagLine': lagLine,
          ':now': nowMs,
        });
        return { firstSlotMs: state.nextSlotMs - span, state };
      },
      // Nobody has called for a while: restart the cursor at the floor, and measure from here.
      idle: async () => {
        const state = await this.update(
          'SET nextSlotMs = :end, measureFromMs = :now, grantedAtMeasure = if_not_exists(granted, :zero), ' +
            'throttledAtMeasure = if_not_exists(throttled, :zero), aheadAtMeasure = :zero, bankedAtMeasure = :banked ' +
            'ADD granted :slots',
          'attribute_not_exists(nextSlotMs) OR nextSlotMs < :floor',
          { ':end': floor + span, ':slots': slots, ':floor': floor, ':now': nowMs, ':zero': 0, ':banked': burstMs / slotMs },
        );
        return { firstSlotMs: floor, state };
      },
    };
    // The three conditions cover every cursor; a lost one means another instance moved it, so
    // the next form is tried (the form that fitted last time goes first).
    let form = this.lastForm;
    for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
      try {
        const claim = await forms[form]();
        this.lastForm = form;
        return claim;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        form = NEXT_FORM[form];
      }
    }
    throw new Error(`quota ledger: no claim after ${MAX_CLAIM_ATTEMPTS} attempts (the cursor kept moving)`);
  }

  async startEpisode({ nowMs, untilMs, decideRate }: EpisodeRequest): Promise<LedgerState> {
    const seen = await this.read();
    if (belongsToEpisode(seen, nowMs)) return this.extendPause({ untilMs, throttle: true });
    const { rate, aheadSlots } = decideRate(seen);
    try {
      return await this.update(
        'SET pausedUntilMs = :until, episodeAtMs = :now, episodeRate = :rate, measureFromMs = :now, ' +
          'grantedAtMeasure = if_not_exists(granted, :zero), throttledAtMeasure = if_not_exists(throttled, :zero), ' +
          'aheadAtMeasure = :ahead, bankedAtMeasure = :zero ADD throttled :one',
        // The rate was decided on what was read: only if no other instance began an episode since.
        'attribute_not_exists(episodeAtMs) OR episodeAtMs = :seenEpisode',
        {
          ':until': untilMs,
          ':now': nowMs,
          ':rate': rate,
          ':ahead': aheadSlots,
          ':zero': 0,
          ':one': 1,
          ':seenEpisode': seen.episodeAtMs,
        },
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      return this.extendPause({ untilMs, throttle: true });
    }
  }

  async extendPause({ untilMs, throttle }: { untilMs: number; throttle: boolean }): Promise<LedgerState> {
    const count = throttle ? ' ADD throttled :one' : '';
    const countValue: Record<string, number> = throttle ? { ':one': 1 } : {};
    try {
      return await this.update(
        `SET pausedUntilMs = :until${count}`,
        'attribute_not_exists(pausedUntilMs) OR pausedUntilMs < :until',
        { ':until': untilMs, ...countValue },
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      // A longer pause is already set; the throttle still counts (the next episode's estimate uses it).
      if (!throttle) return this.read();
      return this.update('ADD throttled :one', undefined, { ':one': 1 });
    }
  }

  private async read(): Promise<LedgerState> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: QUOTA_LEDGER_KEY }, ConsistentRead: true }),
    );
    return stateOf(Item);
  }

  private async update(
    expression: string,
    condition: string | undefined,
    values: Record<string, number>,
  ): Promise<LedgerState> {
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: QUOTA_LEDGER_KEY },
        UpdateExpression: expression,
        ...(condition !== undefined && { ConditionExpression: condition }),
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return stateOf(Attributes);
  }
}

function stateOf(item: Record<string, unknown> | undefined): LedgerState {
  const number = (name: string): number => {
    const value = item?.[name];
    return typeof value === 'number' && Number.isFinite(value) ? value : 0;
  };
  return {
    nextSlotMs: number('nextSlotMs'),
    pausedUntilMs: number('pausedUntilMs'),
    granted: number('granted'),
    throttled: number('throttled'),
    episodeAtMs: number('episodeAtMs'),
    episodeRate: number('episodeRate'),
    measureFromMs: number('measureFromMs'),
    grantedAtMeasure: number('grantedAtMeasure'),
    throttledAtMeasure: number('throttledAtMeasure'),
    aheadAtMeasure: number('aheadAtMeasure'),
    bankedAtMeasure: number('bankedAtMeasure'),
    lastLagAtMs: number('lastLagAtMs'),
  };
}
