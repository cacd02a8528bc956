export type { AppContext } from './app-context.js';
export { createContext, closeContext, type CloseContextOptions, type CreateContextOptions } from './create-context.js';
export { buildApp, type BuildAppOptions } from './build-app.js';
export { startServer, type RunningServer, type StartServerOptions } from './start-server.js';
export { ROUTE_MODULES, type RouteModule } from './routes/index.js';
export { pinTickObjectShape } from './tick-object-shape.js';
