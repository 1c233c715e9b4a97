// The heavy entry: the AWS SDK. For code that talks to S3 itself (the s3 destination adapter, tests).
export { S3ArtifactStore, type S3ArtifactStoreOptions } from './s3-artifact-store';
export { createS3Client, s3ErrorOf, type S3Settings } from './s3-client';
