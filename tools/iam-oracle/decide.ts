/**
 * Decides every case of test/support/access-cases.ts with @cloud-copilot/iam-simulate, an IAM
 * evaluator this project did not write, and writes the answers to
 * test/fixtures/iam-oracle-decisions.json, which test/local/iam-oracle.test.ts holds the local
 * evaluator and the policy generator to. Run it again whenever the policies or the cases change:
 *
 *   npm --prefix tools/iam-oracle install && npm --prefix tools/iam-oracle run decide
 *
 * The simulator is AGPL-3.0: it stays in this optional tool and is never a dependency of the
 * product or of its tests, which read only its answers. Every requester is given an identity
 * policy that allows the action, so the decision is the resource policy's.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { ACCESS_CASES, ACCOUNT, policyFor } from '../../test/support/access-cases';

const OUTPUT = join(__dirname, '..', '..', 'test', 'fixtures', 'iam-oracle-decisions.json');
const SIMULATOR = '@cloud-copilot/iam-simulate 0.1.173';

async function main(): Promise<void> {
  const decisions: Record<string, string> = {};
  for (const accessCase of ACCESS_CASES) {
    const result = await runSimulation(
      {
        request: {
          principal: accessCase.principal,
          action: accessCase.action,
          resource: { resource: accessCase.resource, accountId: ACCOUNT },
          contextVariables: accessCase.context,
        },
        identityPolicies: [
          { name: 'allows-the-action', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: accessCase.action, Resource: '*' }] } },
        ],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: { Version: '2012-10-17', Statement: policyFor(accessCase.resource) },
      } as Parameters<typeof runSimulation>[0],
      {},
    );
    if (result.resultType === 'error') throw new Error(`${accessCase.what}: ${JSON.stringify(result.errors)}`);
    decisions[accessCase.what] = result.overallResult;
  }
  writeFileSync(OUTPUT, `${JSON.stringify({ decidedBy: SIMULATOR, decisions }, null, 2)}\n`);
  console.log(`${ACCESS_CASES.length} cases decided by ${SIMULATOR}: ${OUTPUT}`);
}

void main();
