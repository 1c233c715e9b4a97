import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermission } from '../auth/access.decorators';
import { existingId } from '../common/ids';
import { ApiId, ApiJson, ApiProblems } from '../openapi/decorators';
import { StoredCopiesService, type StoredCopyResponse } from './stored-copies.service';

@ApiTags('Backup configurations')
@Controller('api/v1/backup-configurations')
export class StoredCopiesController {
  constructor(private readonly storedCopies: StoredCopiesService) {}

  @Get(':id/destinations/:destinationId/backups')
  @RequirePermission('configurations.read')
  @ApiOperation({ summary: 'The backups stored at one destination (.sar/.sar.age in starface-backup/<name>/, read from the destination)' })
  @ApiId()
  @ApiId('destinationId', 'UUID of the destination')
  @ApiJson(200, 'StoredCopyList', 'The stored archives, by name')
  @ApiProblems(404, 422, 503)
  list(@Param('id') id: string, @Param('destinationId') destinationId: string): Promise<{ items: StoredCopyResponse[] }> {
    return this.storedCopies.list(existingId(id, 'backup configuration'), existingId(destinationId, 'destination'));
  }
}
