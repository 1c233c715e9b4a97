import { Center, Loader } from '@mantine/core';
import { lazy, Suspense } from 'react';
import { useTranslation } from 'react-i18next';
import { Navigate, Route, Routes } from 'react-router';
import { SignInPage } from './auth/sign-in-page';
import { useSession } from './auth/session';
import { ArchivingPage } from './archiving/archiving-page';
import { BackupsPage } from './backups/backups-page';
import { AppFrame } from './frame/app-frame';
import { DeadLettersPage } from './pages/dead-letters/dead-letters-page';
import { RunDetailPage } from './pages/runs/run-detail-page';
import { RunsPage } from './pages/runs/runs-page';

// The wizard is the largest page: loaded when opened, so the first load stays small.
const WizardPage = lazy(() => import('./wizard/wizard-page'));
const RestoreRoutes = lazy(() => import('./pages/restore/restore-routes'));
const ArchiveFormPage = lazy(() => import('./archiving/archive-form-page'));
// Opened from a list: loaded when needed, like the wizard.
const AuditPage = lazy(() => import('./pages/audit/audit-page'));
const ConfigurationPage = lazy(() => import('./configurations/configuration-page').then((m) => ({ default: m.ConfigurationPage })));

function Loading() {
  const { t } = useTranslation();
  return (
    <Center h="50vh">
      <Loader aria-label={t('common.loading')} />
    </Center>
  );
}

/** Routes of the admin UI; the api serves index.html for each (apps/api/src/admin-ui). */
export function App() {
  const session = useSession();
  if (!session.token) return <SignInPage />;
  if (session.loading || !session.me) return <Loading />;
  return (
    <AppFrame>
      <Suspense fallback={<Loading />}>
        <Routes>
          <Route path="/" element={<Navigate to="/backups" replace />} />
          <Route path="/backups" element={<BackupsPage />} />
          <Route path="/backups/new" element={<WizardPage />} />
          <Route path="/backups/:id/edit" element={<WizardPage />} />
          <Route path="/backups/:id" element={<ConfigurationPage kind="backup" />} />
          <Route path="/runs" element={<RunsPage />} />
          <Route path="/runs/:id" element={<RunDetailPage />} />
          <Route path="/restore/*" element={<RestoreRoutes />} />
          <Route path="/archiving" element={<ArchivingPage />} />
          <Route path="/archiving/new" element={<ArchiveFormPage />} />
          <Route path="/archiving/:id/edit" element={<ArchiveFormPage />} />
          <Route path="/archiving/:id" element={<ConfigurationPage kind="archive" />} />
          <Route path="/dead-letters" element={<DeadLettersPage />} />
          <Route path="/audit" element={<AuditPage />} />
          <Route path="*" element={<Navigate to="/backups" replace />} />
        </Routes>
      </Suspense>
    </AppFrame>
  );
}
