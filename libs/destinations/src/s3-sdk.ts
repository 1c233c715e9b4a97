// The AWS SDK for the s3 adapter, loaded on its first use only: the dispatcher's and the api's
// boot footprints stay as they were for installations without an s3 destination.
export { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, AbortMultipartUploadCommand, type S3Client } from '@aws-sdk/client-s3';
export { Upload } from '@aws-sdk/lib-storage';
export { createS3Client, s3ErrorOf } from '@pbx/artifacts/s3';
