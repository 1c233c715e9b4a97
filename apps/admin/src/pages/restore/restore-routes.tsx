import { Route, Routes } from 'react-router';
import { NewRestorePage } from './new-restore-page';
import { RestoreDetailPage } from './restore-detail-page';
import { RestoresPage } from './restores-page';

/** /restore, /restore/new (?runId= or ?configurationId=&destinationId=&file= preselects), /restore/:id. Loaded when first opened. */
export default function RestoreRoutes() {
  return (
    <Routes>
      <Route index element={<RestoresPage />} />
      <Route path="new" element={<NewRestorePage />} />
      <Route path=":id" element={<RestoreDetailPage />} />
    </Routes>
  );
}
