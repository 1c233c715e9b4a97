import type { PbxSource } from '@pbx/pbx-source';
import { writeSar } from './sar-writer.service';
import type { ArchiveSink } from './zip-writer';

// The sink (the packer's age file writer and its open file) is stopped whenever
// writeSar fails, also when it fails before the archive began.

describe('writeSar with a sink', () => {
  it('a run refused before the first byte (already aborted, an archive run without selection) aborts the sink', async () => {
    for (const refused of [{ signal: AbortSignal.abort() }, { kind: 'archive' as const }]) {
      const sink: ArchiveSink = { write: jest.fn(), finish: jest.fn(), abort: jest.fn(async () => undefined) };
      await expect(
        writeSar({
          source: {} as PbxSource,
          sections: { coreData: true, cdrAndVoicemails: false, announcements: false },
          outPath: '/nonexistent/never.sar.partial',
          configurationName: 'c',
          pbxId: 'p',
          kind: 'backup',
          sink,
          ...refused,
        }),
      ).rejects.toThrow();
      expect(sink.abort).toHaveBeenCalled();
      expect(sink.write).not.toHaveBeenCalled();
    }
  });
});
