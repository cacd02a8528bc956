/**
 * OAuth 2.0 clients (client-credentials grant). The secret is stored only as a keyed hash;
 * during a rotation's grace period the previous hash keeps working until
 * `previous_secret_expires_at`. `scopes` is a JSON array of permission strings.
 */
export interface OAuthClientsTable {
  id: string;
  name: string;
  owner_id: string;
  secret_hash: string;
  previous_secret_hash: string | null;
  previous_secret_expires_at: number | null;
  scopes: string;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface OAuthClientTables {
  oauth_clients: OAuthClientsTable;
}
