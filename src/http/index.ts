/**
 * `longhaul/http`: start-and-poll HTTP endpoints for workflows and entities, as one `node:http`
 * request handler (mount it in Express, Fastify, Koa or a bare `http.createServer`).
 */
export { longhaulHttp, type LonghaulHttpHandler } from './handler.js';
export { type HttpAction, type LonghaulHttpOptions } from './options.js';
export { openApiDocument } from './openapi.js';
