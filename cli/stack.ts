/** A deployed stack's outputs (DescribeStacks), for the commands that take --stack NAME. */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';

/** OutputKey -> OutputValue of the stack; region from --region, else the SDK's default chain. */
export async function stackOutputs(stackName: string, region: string | undefined): Promise<Record<string, string>> {
  const cloudFormation = new CloudFormationClient({ ...(region && { region }) });
  try {
    const stack = (await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
    if (stack === undefined) throw new Error(`stack ${stackName} not found`);
    return Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  } finally {
    cloudFormation.destroy();
  }
}
