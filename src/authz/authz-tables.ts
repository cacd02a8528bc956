/**
 * Roles and memberships. A role's permissions and parent roles are JSON arrays in text
 * columns: roles are few and always read whole, so a join table would buy nothing but
 * round trips. Role names are the primary key (they are what the API addresses).
 */
export interface RolesTable {
  name: string;
  description: string | null;
  /** JSON array of permission strings (canonical `resource:action`, wildcards allowed). */
  permissions: string;
  /** JSON array of role names this role inherits from. */
  inherits: string;
  /** 1 for the seeded roles admin, member, reader. */
  is_builtin: number;
  created_at: number;
  updated_at: number;
}

/** A user (or API-key owner) holding a role, globally (scope null) or within one tenant. */
export interface RoleMembershipsTable {
  id: string;
  user_id: string;
  role_name: string;
  /** Organisation/tenant id; null = everywhere. */
  scope: string | null;
  created_by: string;
  created_at: number;
}

export interface AuthzTables {
  roles: RolesTable;
  role_memberships: RoleMembershipsTable;
}
