import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { DROPBOX_AUTHORIZE_URL } from '../api.tokens';
import { RequirePermission } from '../auth/access.decorators';
import { ApiJson, ApiProblems } from '../openapi/decorators';

/** Builds Dropbox's authorize URL for the app this server is set up with. */
export type DropboxAuthorizeUrl = () => Promise<string>;

@ApiTags('Destinations')
@Controller('api/v1/dropbox')
export class DropboxController {
  constructor(@Inject(DROPBOX_AUTHORIZE_URL) private readonly authorizeUrl: DropboxAuthorizeUrl) {}

  @Get('authorize-url')
  // Only who may save a configuration needs the code the URL leads to.
  @RequirePermission('configurations.write')
  @ApiOperation({
    summary: "Dropbox's authorize URL for connecting a Dropbox destination",
    description:
      'The user opens it, allows access and copies the one-time code Dropbox shows into a dropbox destination as `authorizationCode` (token_access_type=offline: the code is traded for a refresh token). 503 when the server has no Dropbox app set up (DROPBOX_APP_KEY / DROPBOX_APP_SECRET).',
  })
  @ApiJson(200, 'DropboxAuthorizeUrl', 'The URL to open')
  @ApiProblems(503)
  async url(): Promise<{ url: string }> {
    return { url: await this.authorizeUrl() };
  }
}
