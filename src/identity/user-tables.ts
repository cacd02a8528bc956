/**
 * Users. `email` holds the normalised address (or its ciphertext when field encryption is on);
 * `email_lookup` is a keyed HMAC of the normalised address (a blind index) and is what
 * logins and uniqueness use, so lookups work whether or not the column is encrypted.
 */
export interface UsersTable {
  id: string;
  email: string;
  email_lookup: string;
  name: string | null;
  password_hash: string;
  is_active: number;
  is_admin: number;
  created_at: number;
  updated_at: number;
  password_changed_at: number;
}

export interface UserTables {
  users: UsersTable;
}
