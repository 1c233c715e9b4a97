import type { PbxMetrics } from '@pbx/observability';
import type { LifecycleObserver } from '@pbx/persistence';

/** RunLifecycle's final changes as metrics: run durations, deliveries by code, bytes delivered. */
export function lifecycleMetrics(metrics: PbxMetrics): LifecycleObserver {
  return {
    runFinished: ({ kind, result, seconds }) => metrics.runDuration.observe({ kind, result }, seconds),
    deliveryFinished: ({ destinationKind, code, bytes }) => {
      metrics.deliveries.inc({ destination_kind: destinationKind, code });
      if (bytes > 0) metrics.deliveredBytes.inc({ destination_kind: destinationKind }, bytes);
    },
  };
}
