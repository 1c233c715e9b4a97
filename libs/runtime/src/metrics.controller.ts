import { Controller, Get, Header } from '@nestjs/common';
import { PbxMetrics } from '@pbx/observability';
import { Public } from './public-route.decorator';

/** GET /metrics on a worker's health port (the api serves its own, apps/api/src/metrics). */
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: PbxMetrics) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  render(): Promise<string> {
    return this.metrics.render();
  }
}
