import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { Envelope } from '@pbx/contracts';
import { DeliveryService } from './delivery.service';

@Controller()
export class DispatcherHandler {
  constructor(private readonly deliveries: DeliveryService) {}

  /** dispatcher.packed.v1 */
  @EventPattern('backup.packed')
  async packed(@Payload() env: Envelope<'backup.packed'>): Promise<void> {
    await this.deliveries.fanOut(env.payload.runId);
  }

  /** dispatcher.deliver.v1: replicas compete for these. */
  @EventPattern('backup.deliver')
  async deliver(@Payload() env: Envelope<'backup.deliver'>): Promise<void> {
    await this.deliveries.deliver(env.payload.deliveryId);
  }
}
