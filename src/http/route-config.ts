declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route needs no credential (health, JWKS, login, refresh). Every other route must declare `permission`. */
    public?: boolean;
    /** The permission the caller must hold, e.g. 'keys:write'; 'authenticated' = any valid credential. */
    permission?: string;
    /** Routes that check their own credential (e.g. /metrics accepts a token). */
    auth?: 'metrics' | 'self';
  }
}

export {};
