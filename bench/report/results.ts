/**
 * The shape of bench/results.json. Kept stable: add fields, do not rename or drop them, so
 * results from different commits can be compared. Durations in ms, shares as 0..1.
 */
import type { CallsPerChangeEntry } from '../sections/calls-per-change';
import type { OverheadFigures } from '../sections/overhead';
import type { WaveRunFigures } from '../sections/quota-efficiency';
import type { QuotaMatrixRow } from '../sections/quota-matrix';
import type { WaveCounts } from '../workload/wave';

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  node: string;
  platform: string;
  /** 1-minute load averages at the start and the end: how busy the machine was. */
  loadAverageAtStart: number;
  loadAverageAtEnd: number;
}

export interface BenchSettings {
  quick: boolean;
  rps: number;
  maxConcurrency: number;
  batchSize: number;
  maxReceiveCount: number;
  redeliveryBaseDelaySeconds: number;
  idCacheTtlSeconds: number;
}

export interface BenchResults {
  generatedAt: string;
  machine: MachineInfo;
  settings: BenchSettings;
  workload: WaveCounts & { setupEvents: number; events: number };
  /** Our client at the quota. */
  quota: WaveRunFigures & { rps: number };
  /** The SDK's default retry, no rate limiter, same workload and quota. */
  baseline: WaveRunFigures;
  /** Ours and the baseline over concurrencies, a neighbour sharing the quota, and wave sizes. */
  quotaMatrix: QuotaMatrixRow[];
  /** quota.dynamoDbRequests / quota.events: what our quota wave asked of DynamoDB per event (by operation in quota.dynamoDbRequestsByOperation). */
  dynamoDbRequestsPerEvent: number;
  /** Per kind of change: made and minimum with a cold id cache; `warm` with the ids cached. */
  callsPerChange: Record<string, CallsPerChangeEntry>;
  /** Through handler and engine with the quota off (see overhead). */
  eventsPerSecond: number;
  overhead: OverheadFigures;
  bundleBytes: number;
  coldInitMs: number;
  coldInitRunsMs: number[];
  /** How long the whole bench took. */
  durationMs: number;
}
