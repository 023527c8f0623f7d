/** Regenerates examples/onboarding.jsonl from local/scenario/onboarding.ts (npm run examples). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onboardingScenario } from '../scenario/onboarding';

const { entries } = onboardingScenario();
const lines = entries.map((entry) => (typeof entry === 'string' ? entry : JSON.stringify(entry)));
writeFileSync(join(__dirname, '../../examples/onboarding.jsonl'), `${lines.join('\n')}\n`);
