// Integration and e2e tests talk to real servers: give them room, not sleeps.
jest.setTimeout(120_000);
