import { Initial1764144000000 } from './1764144000000-initial';

/** Every migration, oldest first. CI fails when the entities need SQL that is not here. */
export const MIGRATIONS = [Initial1764144000000];
