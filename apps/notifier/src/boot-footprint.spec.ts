import { DESTINATION_CLIENT_PACKAGES, packagesLoadedBy } from '@pbx/testing';

describe('notifier boot footprint', () => {
  it('does not load the destination client libraries (nodemailer is its own mail transport)', () => {
    const packages = DESTINATION_CLIENT_PACKAGES.filter((p) => p !== 'nodemailer');
    expect(
      packagesLoadedBy(() => {
        jest.requireActual('@pbx/runtime');
        jest.requireActual('./notifier.module');
      }, packages),
    ).toEqual([]);
  });
});
