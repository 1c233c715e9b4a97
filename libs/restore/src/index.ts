export * from './restore.types';
export { RestoreEngine, type RestoreEngineOptions } from './restore-engine.service';
export { planRestore, summarize, SECTION_LAYOUT, type RestorePlan, type PlannedSection } from './restore-plan';
export { enterMaintenance } from './maintenance-wait';
export type { PbxSection, RestoreMode, TableDiff, TableRestoreResult } from '@pbx/pbx-source';
