import { packagesLoadedBy } from '@pbx/testing';

describe('dispatcher boot footprint', () => {
  // The control for the other apps' footprint tests: it proves the probe sees these loads.
  it('loads the destination client libraries it delivers with', () => {
    expect(
      packagesLoadedBy(() => {
        jest.requireActual('@pbx/runtime');
        jest.requireActual('./dispatcher.module');
      }),
    ).toEqual(expect.arrayContaining(['dropbox', 'nodemailer', 'ssh2-sftp-client']));
  });
});
