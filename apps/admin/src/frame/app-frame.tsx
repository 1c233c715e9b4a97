import { Anchor, AppShell, Badge, Burger, Button, Group, NavLink, Text } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { IconArchive, IconClockHour4, IconDatabaseExport, IconListDetails, IconMailOff, IconRestore, IconWorld, IconShieldCheck } from '@tabler/icons-react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useLocation } from 'react-router';
import type { Permission } from '../api/client';
import { useSession } from '../auth/session';
import { LanguageSwitch } from './language-switch';

type NavKey = 'backups' | 'runs' | 'restore' | 'archiving' | 'deadLetters' | 'audit';

/** The sections, each shown only to a role that may use it (GET /api/v1/me). */
export const SECTIONS: ReadonlyArray<{ key: NavKey; path: string; permission: Permission; icon: ReactNode }> = [
  { key: 'backups', path: '/backups', permission: 'configurations.read', icon: <IconDatabaseExport size={18} aria-hidden /> },
  { key: 'runs', path: '/runs', permission: 'runs.read', icon: <IconListDetails size={18} aria-hidden /> },
  { key: 'restore', path: '/restore', permission: 'restores.start', icon: <IconRestore size={18} aria-hidden /> },
  { key: 'archiving', path: '/archiving', permission: 'configurations.read', icon: <IconArchive size={18} aria-hidden /> },
  { key: 'deadLetters', path: '/dead-letters', permission: 'dead-letters.read', icon: <IconMailOff size={18} aria-hidden /> },
  { key: 'audit', path: '/audit', permission: 'audit.read', icon: <IconShieldCheck size={18} aria-hidden /> },
];

/** Left navigation and top bar (time zone, language, who is signed in, sign out). */
export function AppFrame({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const session = useSession();
  const location = useLocation();
  const [opened, { toggle, close }] = useDisclosure();
  const me = session.me;
  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 230, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="lg">
      <AppShell.Header>
        <Anchor href="#main" className="skip-link" px="sm">
          {t('app.skip')}
        </Anchor>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label={t('nav.label')} />
            <Text fw={700} component="span">
              {t('app.name')}
            </Text>
          </Group>
          <Group gap="md" wrap="nowrap">
            <Group gap={4} wrap="nowrap" visibleFrom="xs">
              <IconWorld size={16} aria-hidden />
              <Text size="sm">
                {t('top.timezone')}: <span data-testid="pbx-timezone">{me?.timezone}</span>
              </Text>
            </Group>
            <LanguageSwitch />
            <Group gap={6} wrap="nowrap">
              <Text size="sm" fw={600} data-testid="token-name">
                {me?.name}
              </Text>
              {me && (
                <Badge variant="light" color="gray" data-testid="token-role">
                  {t(`top.role.${me.role}`)}
                </Badge>
              )}
            </Group>
            <Button variant="default" size="xs" onClick={session.signOut}>
              {t('top.signOut')}
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" component="nav" aria-label={t('nav.label')}>
        {SECTIONS.filter((s) => session.can(s.permission)).map((s) => (
          <NavLink
            key={s.key}
            component={Link}
            to={s.path}
            label={t(`nav.${s.key}`)}
            leftSection={s.icon}
            active={location.pathname === s.path || location.pathname.startsWith(`${s.path}/`)}
            aria-current={location.pathname.startsWith(s.path) ? 'page' : undefined}
            onClick={close}
          />
        ))}
        <Group gap={4} mt="auto" p="xs">
          <IconClockHour4 size={14} aria-hidden />
          <Text size="xs" c="dimmed">
            {me?.timezone}
          </Text>
        </Group>
      </AppShell.Navbar>
      <AppShell.Main id="main" tabIndex={-1}>
        {children}
      </AppShell.Main>
    </AppShell>
  );
}
