export * from './schedule.types';
export { isValidTimezone, parseStartAt, type ParsedStartAt } from './wall-time';
export {
  CompiledSchedule,
  nextRunAt,
  slotsBetween,
  countSlotsBetween,
  latestSlotAtOrBefore,
  planCatchUp,
  type CatchUpPlan,
} from './schedule';
export { uploadWindowState, type UploadWindowState } from './upload-window';
