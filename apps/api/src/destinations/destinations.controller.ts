import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermission } from '../auth/access.decorators';
import { Audited } from '../audit/audited.decorator';
import type { Principal } from '@pbx/ops';
import { CurrentPrincipal } from '../auth/principal.decorator';
import { validate } from '../common/validation';
import { ApiJson, ApiJsonBody, ApiProblems } from '../openapi/decorators';
import { REQUEST_SCHEMA } from '../openapi/request-schemas';
import { destinationTestSchemaFor } from './destination-test.schema';
import { DestinationTestService, type DestinationTestResponse } from './destination-test.service';
import { UsbVolumesService, type UsbVolumesResponse } from './usb-volumes.service';

@ApiTags('Destinations')
@Controller('api/v1/destinations')
export class DestinationsController {
  constructor(
    private readonly tester: DestinationTestService,
    private readonly usbVolumes: UsbVolumesService,
  ) {}

  @Post('test')
  @HttpCode(200)
  @RequirePermission('destinations.test')
  @Audited('destination.test', 'destination', { param: null })
  @ApiOperation({ summary: 'Test a destination (connect, write and delete a probe file)', description: '200 even when the test failed: the report says which step failed.' })
  @ApiJsonBody(REQUEST_SCHEMA.destinationTest)
  @ApiJson(200, 'DestinationTestReport', 'The test report')
  @ApiProblems(400, 404, 429)
  test(@Body() body: unknown, @CurrentPrincipal() who: Principal): Promise<DestinationTestResponse> {
    return this.tester.test(validate(destinationTestSchemaFor(body), body), who.tokenId ?? who.name);
  }

  @Get('usb/volumes')
  // Who may test a destination may see what it could be: the wizard's USB step.
  @RequirePermission('destinations.test')
  @ApiOperation({
    summary: 'The USB volumes plugged in (for a usb destination)',
    description: "Folders below USB_MOUNT_ROOT that are mount points (any folder with USB_ALLOW_UNMOUNTED), each with its free and total bytes where the file system tells them; a volume's `device` is what a usb destination saves.",
  })
  @ApiJson(200, 'UsbVolumes', 'The volumes present, by name')
  usbVolumeList(): Promise<UsbVolumesResponse> {
    return this.usbVolumes.list();
  }
}
