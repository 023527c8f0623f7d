/**
 * The doors' policies, decided twice: by an IAM evaluator this project did not write (its answers,
 * kept in test/fixtures/iam-oracle-decisions.json by tools/iam-oracle), and by the local stand-ins'
 * evaluator on the policies lib/access-policies.ts writes today. Both must give every case its
 * expected decision, so a policy change that opens a door, or a local evaluator more lenient than
 * IAM, fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluatePolicy, parsePolicy } from '../../local/iam/policy';
import { ACCESS_CASES, ACCOUNT, policyFor, type AccessCase, type Decision } from '../support/access-cases';

const oracle = JSON.parse(readFileSync(join(__dirname, '../fixtures/iam-oracle-decisions.json'), 'utf8')) as {
  decidedBy: string;
  decisions: Record<string, string>;
};

function localDecision(accessCase: AccessCase): Decision {
  const account = accessCase.principal.split(':')[4]!;
  const decision = evaluatePolicy(parsePolicy(policyFor(accessCase.resource)), {
    action: accessCase.action,
    resource: accessCase.resource,
    resourceAccount: ACCOUNT,
    principal: { type: 'aws', arn: accessCase.principal, account },
    context: accessCase.context,
  });
  return decision.allowed ? 'Allowed' : 'Denied';
}

it('the oracle decided exactly the cases this project checks (run tools/iam-oracle again after changing them)', () => {
  expect(Object.keys(oracle.decisions).sort()).toEqual(ACCESS_CASES.map((accessCase) => accessCase.what).sort());
});

describe.each(ACCESS_CASES.map((accessCase) => [accessCase.what, accessCase] as const))('%s', (_what, accessCase) => {
  it(`the independent evaluator: ${accessCase.expected}`, () => {
    expect(oracle.decisions[accessCase.what] === 'Allowed' ? 'Allowed' : 'Denied').toBe(accessCase.expected);
  });

  it(`the local evaluator, on today's policies: ${accessCase.expected}`, () => {
    expect(localDecision(accessCase)).toBe(accessCase.expected);
  });
});
