import { Badge } from '@mantine/core';
import { IconAlertTriangle, IconBan, IconCircleCheck, IconCircleDashed, IconCircleX, IconLoader2, IconPlayerPause } from '@tabler/icons-react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { Run } from '../api/client';

type Status = Run['status'] | 'never';

const LOOK: Record<Status, { color: string; icon: ReactNode }> = {
  never: { color: 'gray', icon: <IconCircleDashed size={14} aria-hidden /> },
  queued: { color: 'gray', icon: <IconCircleDashed size={14} aria-hidden /> },
  deferred: { color: 'yellow', icon: <IconPlayerPause size={14} aria-hidden /> },
  packing: { color: 'blue', icon: <IconLoader2 size={14} aria-hidden /> },
  dispatching: { color: 'blue', icon: <IconLoader2 size={14} aria-hidden /> },
  succeeded: { color: 'green', icon: <IconCircleCheck size={14} aria-hidden /> },
  partially_failed: { color: 'orange', icon: <IconAlertTriangle size={14} aria-hidden /> },
  failed: { color: 'red', icon: <IconCircleX size={14} aria-hidden /> },
  cancelled: { color: 'gray', icon: <IconBan size={14} aria-hidden /> },
};

/** Badges are never cut short: the word is the information (Mantine truncates by default). */
export const BADGE_STYLES = {
  root: { overflow: 'visible', maxWidth: 'none', flexShrink: 0 },
  label: { overflow: 'visible', textOverflow: 'clip', textTransform: 'none', color: 'var(--mantine-color-dark-9)' },
} as const;

/** The icon of a status (the list's light rows draw their own badge around it). */
export function StatusIcon({ status }: { status: Status }) {
  return <>{LOOK[status].icon}</>;
}

/** A run's status as icon and word, never colour alone. */
export function RunStatusBadge({ status, testId }: { status: Status; testId?: string }) {
  const { t } = useTranslation();
  const look = LOOK[status];
  // Dark text on light tints keeps AA contrast.
  return (
    <Badge variant="light" color={look.color} leftSection={look.icon} styles={BADGE_STYLES} data-status={status} data-testid={testId}>
      {t(`status.${status}`)}
    </Badge>
  );
}
