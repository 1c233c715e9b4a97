import { Controller, Get, Head, Headers, HttpCode, Param, Post, Put, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { RequirePermission } from '../auth/access.decorators';
import { Audited } from '../audit/audited.decorator';
import { existingId } from '../common/ids';
import { validate } from '../common/validation';
import { ApiId, ApiJson, ApiProblems } from '../openapi/decorators';
import { UploadsService, type UploadResponse } from './uploads.service';

const createUploadSchema = z.strictObject({ size: z.number().int().positive().optional() }).optional();

/** The answer carries the offset too, so a client resumes from headers alone (tus and GCS style). */
function offsetHeaders(res: Response, u: UploadResponse): UploadResponse {
  res.setHeader('Upload-Offset', String(u.received));
  if (u.received > 0) res.setHeader('Range', `bytes=0-${u.received - 1}`);
  return u;
}

@ApiTags('Uploads')
@Controller('api/v1/uploads')
export class UploadsController {
  constructor(private readonly uploads: UploadsService) {}

  @Post()
  @HttpCode(201)
  @RequirePermission('restores.start')
  @Audited('upload.create', 'upload', { param: null, targetFromResult: (r) => (r as UploadResponse).uploadId })
  @ApiOperation({ summary: 'Start an upload of an archive to restore from (then PUT the file to the returned url: whole, or in Content-Range pieces)' })
  @ApiBody({ required: false, schema: { type: 'object', properties: { size: { type: 'integer', minimum: 1, description: 'the file size, if known' } } } })
  @ApiJson(201, 'Upload', 'The upload')
  @ApiProblems(400)
  create(@Req() req: Request): Promise<UploadResponse> {
    const body = validate(createUploadSchema, req.body);
    return this.uploads.create(body?.size ?? null);
  }

  @Put(':id')
  @RequirePermission('restores.start')
  @Audited('upload.write', 'upload')
  @ApiOperation({
    summary: 'Write the file (curl -T), or the next byte range of it',
    description:
      'Without Content-Range the body is the whole file. With `Content-Range: bytes <first>-<last>/<total or *>` it is the piece at `first`, which must be the number of bytes received so far (Upload-Offset); `bytes */<total>` with no body only reports the state. After a broken connection, ask GET or HEAD for Upload-Offset and continue there.',
  })
  @ApiId()
  @ApiHeader({ name: 'Content-Range', required: false })
  @ApiConsumes('application/octet-stream')
  @ApiBody({ required: true, schema: { type: 'string', format: 'binary' } })
  @ApiJson(200, 'Upload', 'What was received; complete once every byte is there')
  @ApiProblems(400, 404, 409)
  async put(@Param('id') id: string, @Headers('content-range') range: string | undefined, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<UploadResponse> {
    return offsetHeaders(res, await this.uploads.put(existingId(id, 'upload'), range, req));
  }

  @Get(':id')
  @RequirePermission('restores.read')
  @ApiOperation({ summary: 'How much of an upload arrived' })
  @ApiId()
  @ApiJson(200, 'Upload', 'The upload')
  @ApiProblems(404)
  async get(@Param('id') id: string, @Res({ passthrough: true }) res: Response): Promise<UploadResponse> {
    return offsetHeaders(res, await this.uploads.get(existingId(id, 'upload')));
  }

  @Head(':id')
  @RequirePermission('restores.read')
  @ApiOperation({ summary: 'Upload-Offset of an upload (where to continue)' })
  @ApiId()
  @ApiProblems(404)
  async head(@Param('id') id: string, @Res({ passthrough: true }) res: Response): Promise<void> {
    offsetHeaders(res, await this.uploads.get(existingId(id, 'upload')));
  }
}
