import { ConfigurationsList } from '../configurations/configurations-list';

/** Archiving configurations: list, create, edit, delete, run now (the same as backups). */
export function ArchivingPage() {
  return <ConfigurationsList kind="archive" />;
}
