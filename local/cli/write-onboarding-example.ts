/** Regenerates examples/onboarding.jsonl from local/scenario/onboarding.ts (npm run examples). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onboardingScenario } from '../scenario/onboarding';

const { entries } = onboardingScenario();
// One {"producer", "event"} line per send: npm start sends each through its producer's door.
writeFileSync(join(__dirname, '../../examples/onboarding.jsonl'), `${entries.map((entry) => JSON.stringify(entry)).join('\n')}\n`);
