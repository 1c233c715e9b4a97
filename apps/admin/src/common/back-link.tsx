import { Anchor, Group } from '@mantine/core';
import { IconArrowLeft } from '@tabler/icons-react';
import type { ReactNode } from 'react';
import { Link } from 'react-router';

/** The link above a detail page's title back to its list. */
export function BackLink({ to, children, w }: { to: string; children: ReactNode; w?: string }) {
  return (
    <Anchor component={Link} to={to} size="sm" w={w}>
      <Group gap={4}>
        <IconArrowLeft size={14} aria-hidden />
        {children}
      </Group>
    </Anchor>
  );
}
