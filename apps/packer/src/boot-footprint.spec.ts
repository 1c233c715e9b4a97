import { packagesLoadedBy } from '@pbx/testing';

describe('packer boot footprint', () => {
  it('does not load the destination client libraries (it delivers nothing at boot)', () => {
    expect(
      packagesLoadedBy(() => {
        jest.requireActual('@pbx/runtime');
        jest.requireActual('./packer.module');
      }),
    ).toEqual([]);
  });
});
