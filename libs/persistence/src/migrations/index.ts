import { Initial1764144000000 } from './1764144000000-initial';
import { InboxKeyOrder1764230400000 } from './1764230400000-inbox-key-order';
import { TokenRolesAudit1764316800000 } from './1764316800000-token-roles-audit';
import { CanonicalNameKey1764403200000 } from './1764403200000-canonical-name-key';
import { RunDeliveredAt1764489600000 } from './1764489600000-run-delivered-at';
import { DeliveryRetrySchedule1764583200000 } from './1764583200000-delivery-retry-schedule';
import { ConfigurationEncryption1764669600000 } from './1764669600000-configuration-encryption';
import { DeliveryVerification1764756000000 } from './1764756000000-delivery-verification';
import { ConfigurationVerify1764759600000 } from './1764759600000-configuration-verify';
import { Restores1764763200000 } from './1764763200000-restores';
import { SafetyRuns1764800000000 } from './1764800000000-safety-runs';
import { ConfigurationRetention1764840000000 } from './1764840000000-configuration-retention';
import { ConfigurationWebhooks1764820000000 } from './1764820000000-configuration-webhooks';

/** Every migration, oldest first. CI fails when the entities need SQL that is not here. */
export const MIGRATIONS = [Initial1764144000000, InboxKeyOrder1764230400000, TokenRolesAudit1764316800000, CanonicalNameKey1764403200000, RunDeliveredAt1764489600000, DeliveryRetrySchedule1764583200000, ConfigurationEncryption1764669600000, DeliveryVerification1764756000000, ConfigurationVerify1764759600000, Restores1764763200000, SafetyRuns1764800000000, ConfigurationWebhooks1764820000000, ConfigurationRetention1764840000000];
