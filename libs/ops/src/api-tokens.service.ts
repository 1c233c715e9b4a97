import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { DomainError, ERROR_CODES, ROLES, isRole, type Role } from '@pbx/contracts';
import { isUuid } from './ids';
import { ApiTokensRepository } from './api-tokens.repository';

/** Who made a request: the admin token or a named extra token, with its role. */
export interface Principal {
  kind: 'admin' | 'token';
  /** 'admin' or the token's name; recorded as replayed_by / discarded_by and in the audit trail. */
  name: string;
  tokenId?: string;
  role: Role;
}

export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
  revokedAt: string | null;
}

const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}$/;

export const sha256Hex = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

/**
 * API tokens: the ADMIN_API_TOKEN (compared in constant time) plus extra tokens stored only
 * as SHA-256 hashes. Used by the api's bearer guard and by the ops CLI.
 */
export class ApiTokensService {
  private readonly adminDigest: Buffer;

  constructor(
    private readonly repository: ApiTokensRepository,
    adminToken: string,
  ) {
    this.adminDigest = createHash('sha256').update(adminToken, 'utf8').digest();
  }

  /** The principal a bearer token stands for, or null when it is unknown or revoked. */
  async verify(token: string): Promise<Principal | null> {
    if (token.length === 0 || token.length > 512) return null;
    const digest = createHash('sha256').update(token, 'utf8').digest();
    if (timingSafeEqual(digest, this.adminDigest)) return { kind: 'admin', name: 'admin', role: 'admin' };
    const row = await this.repository.findActiveByHash(digest.toString('hex'));
    // A row whose role this version does not know grants nothing.
    return row && isRole(row.role) ? { kind: 'token', name: row.name, tokenId: row.id, role: row.role } : null;
  }

  /** Creates a token with a role; the plaintext is returned once and never stored. */
  async create(name: string, role: string): Promise<{ token: string; info: TokenInfo }> {
    if (!isRole(role)) {
      throw new DomainError(ERROR_CODES.validation, 'invalid role', [{ field: 'role', message: `must be one of ${ROLES.join(', ')}` }]);
    }
    if (!TOKEN_NAME.test(name) || name.toLowerCase() === 'admin') {
      throw new DomainError(ERROR_CODES.validation, 'invalid token name', [
        { field: 'name', message: 'must be 1-64 characters of letters, digits, space, . _ @ - (and not "admin")' },
      ]);
    }
    if (await this.repository.findActiveByName(name)) {
      throw new DomainError(ERROR_CODES.conflict, 'an active token with this name already exists (revoke it first)');
    }
    const token = `pbx_${randomBytes(32).toString('base64url')}`;
    const row = await this.repository.insert(name, role, sha256Hex(token));
    return { token, info: toInfo(row) };
  }

  async list(): Promise<TokenInfo[]> {
    return (await this.repository.list()).map(toInfo);
  }

  /** Revokes by id or by name; unknown → not_found. Returns the revoked tokens. */
  async revoke(idOrName: string): Promise<TokenInfo[]> {
    const rows = await this.repository.revoke(idOrName, isUuid(idOrName));
    if (rows.length === 0) throw new DomainError(ERROR_CODES.notFound, 'no active token with this name or id');
    return rows.map(toInfo);
  }
}

function toInfo(row: { id: string; name: string; role: string; createdAt: Date; revokedAt: Date | null }): TokenInfo {
  return { id: row.id, name: row.name, role: isRole(row.role) ? row.role : 'viewer', createdAt: row.createdAt.toISOString(), revokedAt: row.revokedAt?.toISOString() ?? null };
}
