import { describe, expect, it } from 'vitest';
import { type CfnTemplate, localStateMachineArn, stateMachineNameOf } from '../../bench/deployed-asset';
import { partitionRatios } from '../../bench/deployed-partitions';

const run = (wallSeconds: number, cpuMs: number, passivated: number) => ({ wallSeconds, cpuMs, passivated });

describe('the per-partition ratios of the as-deployed partition benchmark', () => {
  it('gives the median and the worst per-partition ratio and the aggregate over the partitions', () => {
    // Arrange: three partitions; the last one's function is slow and dear.
    const pairs = [
      { function: run(1.0, 1_000, 100), bare: run(1.0, 1_000, 100) },
      { function: run(1.1, 1_200, 100), bare: run(1.0, 1_000, 100) },
      { function: run(4.0, 6_000, 200), bare: run(2.0, 2_000, 200) },
    ];

    // Act
    const ratios = partitionRatios(pairs);

    // Assert
    expect(ratios.partitions).toBe(3);
    expect(ratios.medianWallRatio).toBeCloseTo(1.1);
    expect(ratios.worstWallRatio).toBeCloseTo(2.0);
    expect(ratios.medianCpuPerUserRatio).toBeCloseTo(1.2);
    expect(ratios.worstCpuPerUserRatio).toBeCloseTo(3.0);
    expect(ratios.aggregateWallRatio).toBeCloseTo(6.1 / 4.0);
    expect(ratios.aggregateCpuPerUserRatio).toBeCloseTo(8_200 / 400 / (4_000 / 400));
  });

  it('counts CPU per passivated user, so a function that did half the work shows twice the ratio', () => {
    // Arrange: the same CPU, half the users passivated.
    const pairs = [{ function: run(1.0, 1_000, 50), bare: run(1.0, 1_000, 100) }];

    // Act
    const ratios = partitionRatios(pairs);

    // Assert
    expect(ratios.medianCpuPerUserRatio).toBeCloseTo(2.0);
  });
});

describe("the template's state machine ARN, resolved locally", () => {
  const template = (name: string): CfnTemplate => ({
    Resources: {
      Machine: { Type: 'AWS::StepFunctions::StateMachine', Properties: { StateMachineName: name } },
    },
  });
  const arnOf = (name: string, region: unknown = { Ref: 'AWS::Region' }) => ({
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':states:',
        region,
        ':',
        { Ref: 'AWS::AccountId' },
        `:stateMachine:${name}`,
      ],
    ],
  });

  it("names the stack's state machine whose ARN the join of pseudo parameters makes", () => {
    // Arrange
    const value = arnOf('Stack-Checker-ABC123');

    // Act
    const name = stateMachineNameOf(template('Stack-Checker-ABC123'), value);

    // Assert
    expect(name).toBe('Stack-Checker-ABC123');
    expect(localStateMachineArn(name as string)).toBe(
      'arn:aws:states:us-east-1:000000000000:stateMachine:Stack-Checker-ABC123',
    );
  });

  it('refuses a join that refers to anything but the pseudo parameters', () => {
    // Arrange
    const value = arnOf('Stack-Checker-ABC123', { Ref: 'SomeParameter' });

    // Act
    const name = stateMachineNameOf(template('Stack-Checker-ABC123'), value);

    // Assert
    expect(name).toBeUndefined();
  });

  it('refuses the ARN of a state machine the stack does not declare', () => {
    // Arrange
    const value = arnOf('Another-Machine');

    // Act
    const name = stateMachineNameOf(template('Stack-Checker-ABC123'), value);

    // Assert
    expect(name).toBeUndefined();
  });
});
