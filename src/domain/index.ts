// Re-exports the domain vocabulary.
export * from './task.js';
export * from './agent-event.js';
export * from './errors.js';
export * from './gateway.js';
export * from './flight.js';
