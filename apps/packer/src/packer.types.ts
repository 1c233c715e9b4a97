export interface SarArtifact {
  fileName: string;
  size: number;
  sha256: string;
}
