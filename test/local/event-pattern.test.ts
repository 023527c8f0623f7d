import { InvalidEventPatternError, matchesEventPattern, validateEventPattern } from '../../local/eventbridge';

const event = {
  version: '0',
  id: 'e1',
  'detail-type': 'UserChanged',
  source: 'hr.system',
  account: '111122223333',
  time: '2025-03-01T10:20:30Z',
  region: 'eu-west-1',
  resources: ['arn:a', 'arn:b'],
  detail: { action: 'create', user: { email: 'Ada@Example.com', age: 36 }, tags: ['admin', 'dev'], note: null },
};

describe('EventBridge pattern matching (common subset)', () => {
  it.each([
    ['exact values on top-level fields', { source: ['hr.system', 'other'], 'detail-type': ['UserChanged'] }, true],
    ['a value that differs', { source: ['other'] }, false],
    ['nested detail fields', { detail: { user: { age: [36] } } }, true],
    ['any element of an array value', { detail: { tags: ['dev'] } }, true],
    ['null as a value', { detail: { note: [null] } }, true],
    ['prefix', { source: [{ prefix: 'hr.' }] }, true],
    ['prefix that does not match', { source: [{ prefix: 'crm.' }] }, false],
    ['suffix', { detail: { user: { email: [{ suffix: '.com' }] } } }, true],
    ['equals-ignore-case', { detail: { user: { email: [{ 'equals-ignore-case': 'ada@example.com' }] } } }, true],
    ['anything-but a value', { detail: { action: [{ 'anything-but': 'delete' }] } }, true],
    ['anything-but a list that holds the value', { detail: { action: [{ 'anything-but': ['create', 'delete'] }] } }, false],
    ['anything-but a prefix', { source: [{ 'anything-but': { prefix: 'hr.' } }] }, false],
    ['anything-but on a missing field', { detail: { missing: [{ 'anything-but': 'x' }] } }, false],
    ['exists true', { detail: { action: [{ exists: true }] } }, true],
    ['exists false on a missing field', { detail: { missing: [{ exists: false }] } }, true],
    ['exists false on a present field', { detail: { action: [{ exists: false }] } }, false],
    ['numeric range', { detail: { user: { age: [{ numeric: ['>=', 18, '<', 65] }] } } }, true],
    ['numeric range that excludes', { detail: { user: { age: [{ numeric: ['>', 40] }] } } }, false],
    ['a missing field with exact values', { detail: { missing: ['x'] } }, false],
    ['a nested pattern against a scalar', { source: { inner: ['x'] } }, false],
  ])('%s', (_, pattern, expected) => {
    validateEventPattern(pattern);
    expect(matchesEventPattern(pattern, event)).toBe(expected);
  });

  it.each([
    ['empty arrays', { source: [] }],
    ['unknown operators', { source: [{ wildcard: 'hr.*' }] }],
    ['two operators in one element', { source: [{ prefix: 'a', suffix: 'b' }] }],
    ['a non-object pattern', ['source']],
  ])('refuses %s at rule creation', (_, pattern) => {
    expect(() => validateEventPattern(pattern)).toThrow(InvalidEventPatternError);
  });
});
