import type { DataSource } from 'typeorm';
import { SECRET_FIELDS_BY_KIND } from '@pbx/contracts';
import { CONNECT_FAILED, type DestinationConfig, type DestinationRegistry, type HostAllowlist, type TestReport } from '@pbx/destinations';
import type { Logger } from '@pbx/observability';
import { DestinationEntity } from '@pbx/persistence';
import type { SecretBox } from '@pbx/secrets';
import { notFound } from '../common/ids';
import { toDestinationConfig } from '../configurations/destination-secrets';
import type { DestinationRecord } from '../configurations/destination-secrets';
import { assertHostsAllowed } from './destination-hosts';
import type { DestinationTestBody } from './destination-test.schema';
import { InFlightLimit } from './in-flight-limit';

export interface DestinationTestOptions {
  /** Hard limit of one test (DESTINATION_TEST_TIMEOUT_MS); then it fails like an unreachable server. */
  timeoutMs: number;
  /** Tests one token may have in flight (DESTINATION_TESTS_PER_TOKEN). */
  perToken: number;
  /** DESTINATION_HOSTS_ALLOWED. */
  hosts: HostAllowlist;
}

/** What a test that ran out of time answers: the same as any other way of not connecting. */
const CONNECT_FAILED_REPORT: TestReport = { ok: false, code: 'mountfail', steps: [{ step: 'connect', ok: false, detail: CONNECT_FAILED }] };

export interface DestinationTestResponse {
  ok: boolean;
  steps: { step: string; ok: boolean; detail?: string }[];
  code?: string;
  hostKeyFingerprint?: string;
}

/**
 * Tests a destination with its adapter (connect, write and delete a probe file). Always
 * answers with the report; a failed test is not an HTTP error. It must not work as a port
 * scanner: only allowed hosts, every connection failure answered alike (the cause is logged),
 * a hard time limit and a few tests at a time per token.
 */
export class DestinationTestService {
  private readonly inFlight: InFlightLimit;

  constructor(
    private readonly dataSource: DataSource,
    private readonly registry: DestinationRegistry,
    private readonly box: SecretBox,
    private readonly options: DestinationTestOptions,
    private readonly logger: Logger,
  ) {
    this.inFlight = new InFlightLimit(options.perToken, Math.ceil(options.timeoutMs / 1000));
  }

  /** `caller` keys the in-flight limit (the token). */
  async test(body: DestinationTestBody, caller: string): Promise<DestinationTestResponse> {
    const config = 'destination' in body ? (body.destination as DestinationConfig) : await this.stored(body.configurationId, body.destinationId);
    await assertHostsAllowed(this.options.hosts, [config as unknown as DestinationRecord], () => ('destination' in body ? 'destination' : ''));
    const report = await this.inFlight.run(caller, () => this.run(config));
    return scrub(report, secretValues(config));
  }

  /**
   * The SSH host key an SFTP server presents (key exchange only, no credentials sent), for
   * trust-on-first-use when saving; undefined when the server could not be reached.
   */
  async presentedHostKey(destination: DestinationRecord): Promise<string | undefined> {
    const report = await this.run({ ...destination, hostKeyFingerprint: undefined } as unknown as DestinationConfig);
    return report.hostKeyFingerprint;
  }

  /** Runs the adapter's test under the hard time limit; at the limit its connection is torn down. */
  private async run(config: DestinationConfig): Promise<TestReport> {
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<TestReport>((resolve) => {
      timer = setTimeout(() => {
        abort.abort();
        resolve({ ...CONNECT_FAILED_REPORT, steps: [{ ...CONNECT_FAILED_REPORT.steps[0], cause: `no answer within ${this.options.timeoutMs} ms` }] });
      }, this.options.timeoutMs);
    });
    try {
      const report = await Promise.race([this.registry.test(config, abort.signal), timedOut]);
      const failed = report.steps.find((s) => !s.ok);
      if (failed) this.logger.info({ type: config.type, target: this.registry.label(config), step: failed.step, cause: failed.cause ?? failed.detail }, 'destination test failed');
      return report;
    } finally {
      clearTimeout(timer);
    }
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
  return SECRET_FIELDS_BY_KIND[config.type].map((f) => record[f]).filter((v): v is string => typeof v === 'string' && v.length >= 4);
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
