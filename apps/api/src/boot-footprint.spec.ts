import { packagesLoadedBy } from '@pbx/testing';

describe('api boot footprint', () => {
  it('does not load the destination client libraries (it delivers nothing at boot)', () => {
    expect(
      packagesLoadedBy(() => {
        jest.requireActual('@pbx/runtime');
        jest.requireActual('./api.module');
      }),
    ).toEqual([]);
  });
});
