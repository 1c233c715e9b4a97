/** The Nest injection token of the DestinationRegistry, one name in every app that delivers or tests. */
export const DESTINATION_REGISTRY = Symbol('DESTINATION_REGISTRY');
