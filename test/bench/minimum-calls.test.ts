import { minimumCalls, type ChangeShape } from '../../bench/calls/minimum-calls';

const total = (shape: ChangeShape, cache: 'cold' | 'warm') => minimumCalls(shape, cache).total;

describe('minimumCalls', () => {
  it('counts a joiner with k groups as 1 lookup + CreateUser + k group lookups + k memberships', () => {
    expect(total({ kind: 'user.created', groups: 2 }, 'cold')).toBe(6);
    expect(total({ kind: 'user.created', groups: 5 }, 'cold')).toBe(12);
  });

  it('drops the cacheable group lookups when warm, but not the user lookup that found nothing', () => {
    expect(total({ kind: 'user.created', groups: 2 }, 'warm')).toBe(4);
    expect(minimumCalls({ kind: 'user.created', groups: 2 }, 'warm').steps.map((s) => s.action)).toEqual([
      'GetUserId',
      'CreateUser',
      'CreateGroupMembership',
    ]);
  });

  it('needs a read and a write for an attribute change, and only the read when nothing changed', () => {
    expect(total({ kind: 'user.updated' }, 'cold')).toBe(2);
    expect(total({ kind: 'user.unchanged' }, 'cold')).toBe(1);
    expect(total({ kind: 'user.unchanged' }, 'warm')).toBe(1);
  });

  it('counts a group move as describe + group lookups + list + one write per membership changed', () => {
    const move: ChangeShape = { kind: 'user.groupsReplaced', groups: 2, added: 1, removed: 1 };
    expect(total(move, 'cold')).toBe(6);
    expect(total(move, 'warm')).toBe(4);
  });

  it('lets DeleteUser and DeleteGroup remove memberships themselves', () => {
    expect(total({ kind: 'user.deletedByExternalId' }, 'cold')).toBe(2);
    expect(total({ kind: 'group.deleted' }, 'cold')).toBe(2);
    expect(total({ kind: 'group.deleted' }, 'warm')).toBe(1);
  });

  it('creates a new group after one lookup, cache or not', () => {
    expect(total({ kind: 'group.created' }, 'cold')).toBe(2);
    expect(total({ kind: 'group.created' }, 'warm')).toBe(2);
  });

  it('adds a membership without checking first, but needs the membership id to remove one', () => {
    expect(total({ kind: 'membership.added' }, 'cold')).toBe(3);
    expect(total({ kind: 'membership.added' }, 'warm')).toBe(1);
    expect(total({ kind: 'membership.removed' }, 'cold')).toBe(4);
    expect(total({ kind: 'membership.removed' }, 'warm')).toBe(2);
  });

  it('sums its steps and lists no step that costs nothing', () => {
    const result = minimumCalls({ kind: 'membership.removed' }, 'warm');
    expect(result.steps.every((s) => s.count > 0)).toBe(true);
    expect(result.steps.reduce((sum, s) => sum + s.count, 0)).toBe(result.total);
  });
});
