import { ApiTokenEntity } from './api-token.entity';
import { AuditEventEntity } from './audit-event.entity';
import { ConfigurationEntity } from './configuration.entity';
import { DeadLetterEntity } from './dead-letter.entity';
import { DeliveryEntity } from './delivery.entity';
import { DestinationEntity } from './destination.entity';
import { InboxMessageEntity } from './inbox-message.entity';
import { NotificationEntity } from './notification.entity';
import { OutboxMessageEntity } from './outbox-message.entity';
import { RestoreEntity } from './restore.entity';
import { RunEntity } from './run.entity';

export * from './api-token.entity';
export * from './audit-event.entity';
export * from './configuration.entity';
export * from './dead-letter.entity';
export * from './delivery.entity';
export * from './destination.entity';
export * from './inbox-message.entity';
export * from './notification.entity';
export * from './outbox-message.entity';
export * from './restore.entity';
export * from './run.entity';

export const ENTITIES = [
  ApiTokenEntity,
  AuditEventEntity,
  ConfigurationEntity,
  DeadLetterEntity,
  DeliveryEntity,
  DestinationEntity,
  InboxMessageEntity,
  NotificationEntity,
  OutboxMessageEntity,
  RestoreEntity,
  RunEntity,
];
