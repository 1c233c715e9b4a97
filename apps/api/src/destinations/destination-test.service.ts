import type { DataSource } from 'typeorm';
import type { DestinationConfig, DestinationRegistry, TestReport } from '@pbx/destinations';
import { DestinationEntity } from '@pbx/persistence';
import type { SecretBox } from '@pbx/secrets';
import { notFound } from '../common/ids';
import { SECRET_FIELDS } from '../configurations/configuration.schema';
import { toDestinationConfig } from '../configurations/destination-secrets';
import type { DestinationTestBody } from './destination-test.schema';

export interface DestinationTestResponse {
  ok: boolean;
  steps: { step: string; ok: boolean; detail?: string }[];
  code?: string;
  hostKeyFingerprint?: string;
}

/**
 * Tests a destination with its adapter (connect, write and delete a probe file). Always
 * answers with the report; a failed test is not an HTTP error.
 */
export class DestinationTestService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly registry: DestinationRegistry,
    private readonly box: SecretBox,
  ) {}

  async test(body: DestinationTestBody): Promise<DestinationTestResponse> {
    const config = 'destination' in body ? (body.destination as DestinationConfig) : await this.stored(body.configurationId, body.destinationId);
    const report = await this.registry.test(config);
    return scrub(report, secretValues(config));
  }

  private async stored(configurationId: string, destinationId: string): Promise<DestinationConfig> {
    const row = await this.dataSource.manager
      .createQueryBuilder(DestinationEntity, 'd')
      .innerJoin('d.configuration', 'c')
      .where('d.id = :destinationId AND d.configuration_id = :configurationId', { destinationId, configurationId })
      .andWhere('d.removed_at IS NULL AND c.deleted_at IS NULL AND c.ephemeral = false')
      .getOne();
    if (!row) throw notFound('destination in this configuration');
    return toDestinationConfig(row, this.box);
  }
}

function secretValues(config: DestinationConfig): string[] {
  const record = config as unknown as Record<string, unknown>;
  return SECRET_FIELDS.map((f) => record[f]).filter((v): v is string => typeof v === 'string' && v.length >= 4);
}

/** Adapters should never echo a secret; this makes sure a report cannot carry one anyway. */
function scrub(report: TestReport, secrets: string[]): DestinationTestResponse {
  const clean = (text: string | undefined) => (text === undefined ? undefined : secrets.reduce((t, s) => t.split(s).join('***'), text));
  return {
    ok: report.ok,
    steps: report.steps.map((s) => ({ step: s.step, ok: s.ok, ...(s.detail !== undefined ? { detail: clean(s.detail) } : {}) })),
    ...(report.code ? { code: report.code } : {}),
    ...(report.hostKeyFingerprint ? { hostKeyFingerprint: report.hostKeyFingerprint } : {}),
  };
}
