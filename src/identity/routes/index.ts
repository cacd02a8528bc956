import type { RouteModule } from '../../server/routes/index.js';
import { identityOf } from '../identity-service.js';
import { authRoutes } from './auth-routes.js';
import { userRoutes } from './user-routes.js';

/** The identity domain's routes: /v1/auth/*, /v1/users*, /.well-known/jwks.json. */
export const identityRouteModule: RouteModule = async (app, context) => {
  const identity = identityOf(context);
  await identity.initialise();
  await authRoutes(app, context, identity);
  await userRoutes(app, context, identity);
};
