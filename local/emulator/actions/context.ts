/** What every action handler gets: the hosted identity store it acts on and the emulator's services. */
import type { Paginator } from '../pagination';
import type { IdentityStoreData } from '../store';
import type { WriteJournalEntry } from '../stats';

export type WriteNote = Omit<WriteJournalEntry, 'sequence' | 'at' | 'requestId' | 'identityStoreId'>;

export interface ActionContext {
  identityStoreId: string;
  store: IdentityStoreData;
  paginator: Paginator;
  /** Recorded as CreatedBy/UpdatedBy. */
  principal: string;
  /** Note a successful write for the journal and the state file. */
  wrote(note: WriteNote): void;
}

/** A validated request body; handlers read the members their shape guarantees. */
export type Input = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export type ActionHandler = (input: Input, context: ActionContext) => Record<string, unknown>;
