import { ConfigurationsList } from '../configurations/configurations-list';

/** Backup configurations: list, create (wizard), edit, delete, run now. */
export function BackupsPage() {
  return <ConfigurationsList kind="backup" />;
}
